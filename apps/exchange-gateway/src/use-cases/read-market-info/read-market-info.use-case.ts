import { Inject, Injectable } from '@nestjs/common';
import type { Exchange, MarketInterface } from 'ccxt';
import type { MarketInfo } from '@garde/contracts';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../../config/gateway.config.js';
import { GatewayException } from '../../errors/gateway.exception.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { describeVenueError } from '../../venues/ccxt-client.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { toDecimalString } from '../submit-order/venue-outcome.js';

/** ccxt's `precisionMode` in which a market's precision is its step (as the tickers read it: market-data.ts). */
const CCXT_TICK_SIZE = 4;

const decimalOrNull = (v: number | string | undefined | null): string | null => (v === undefined || v === null ? null : toDecimalString(v));

/**
 * Whether an exchange can trade a symbol (MarketInfoQry), from what the order pipeline itself
 * would use: the exchange's one account (orders that name no account, a bot's, go there; with none they
 * are refused NO_VENUE_CONFIGURED, with several INVALID_REQUEST) and the markets ccxt loaded for it (an
 * order on a market it does not list is refused). The accounts are read from PostgreSQL, not from the
 * routing cache: an account just added through another replica counts at once.
 */
@Injectable()
export class ReadMarketInfo {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async execute(exchangeId: string, symbol: string): Promise<MarketInfo> {
    const candidates = (await this.accounts.list()).filter((a) => a.exchangeId === exchangeId);
    if (candidates.length === 0) {
      throw new GatewayException('NO_VENUE_CONFIGURED', `no exchange account is configured for exchange ${exchangeId}`, { exchangeId });
    }
    if (candidates.length > 1) {
      const ids = candidates.map((a) => a.id);
      throw new GatewayException(
        'INVALID_REQUEST',
        `exchange ${exchangeId} has several accounts (${ids.join(', ')}): an order that names none, as a bot's do, is refused there`,
        { exchangeId, accounts: ids },
      );
    }
    const account = candidates[0]!;
    const client = await this.loaded(this.clients.forAccount(account), exchangeId, account.id);
    const market = (client.markets as Record<string, MarketInterface> | undefined)?.[symbol];
    if (!market) {
      throw new GatewayException('UNKNOWN_SYMBOL', `${symbol} is not listed on exchange ${exchangeId} (account ${account.id})`, {
        exchangeId,
        symbol,
        accountId: account.id,
      });
    }
    const steps = client.precisionMode === CCXT_TICK_SIZE ? market.precision : undefined;
    return {
      exchangeId,
      symbol,
      accountId: account.id,
      tickSize: decimalOrNull(steps?.price),
      stepSize: decimalOrNull(steps?.amount),
      minQuantity: decimalOrNull(market.limits?.amount?.min),
      maxQuantity: decimalOrNull(market.limits?.amount?.max),
      minNotional: decimalOrNull(market.limits?.cost?.min),
    };
  }

  /** The account's client once its markets are loaded, or EXCHANGE_UNAVAILABLE saying why (a load still running goes on). */
  private async loaded(client: Promise<Exchange>, exchangeId: string, accountId: string): Promise<Exchange> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new GatewayException(
              'EXCHANGE_UNAVAILABLE',
              `the markets of exchange ${exchangeId} are not loaded (not within ${this.config.MARKET_INFO_WAIT_MS} ms): its venue is slow or unreachable`,
              { exchangeId, accountId },
            ),
          ),
        this.config.MARKET_INFO_WAIT_MS,
      );
    });
    try {
      return await Promise.race([
        client.catch((err: unknown) => {
          throw new GatewayException(
            'EXCHANGE_UNAVAILABLE',
            `the markets of exchange ${exchangeId} could not be loaded from its venue: ${describeVenueError(err).message}`,
            { exchangeId, accountId },
          );
        }),
        waited,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
