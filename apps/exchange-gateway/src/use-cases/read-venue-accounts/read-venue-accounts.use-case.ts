import { Injectable } from '@nestjs/common';
import type { Exchange } from 'ccxt';
import type { AccountBalances, VenueOpenOrders } from '@garde/contracts';
import { GatewayException } from '../../errors/gateway.exception.js';
import type { ExchangeAccountRow } from '../../persistence/exchange-account.entity.js';
import { ExchangeAccountRepository } from '../../persistence/exchange-account.repository.js';
import { describeVenueError } from '../../venues/ccxt-client.js';
import { VenueClients } from '../../venues/venue-clients.js';
import { toDecimalString } from '../submit-order/venue-outcome.js';

type BalanceLine = AccountBalances['accounts'][number];
type OpenOrdersLine = VenueOpenOrders['accounts'][number];

/**
 * Reads balances and open orders straight from the venues, for reconciliation: what the venue says,
 * not the gateway's books. A venue that cannot be asked is reported with its error, not skipped.
 */
@Injectable()
export class ReadVenueAccounts {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
  ) {}

  async balances(accountId?: string): Promise<AccountBalances> {
    return {
      accounts: await this.each(
        accountId,
        (client) => this.readBalances(client),
        (base, balances) => ({ ...base, balances }),
        { balances: [] },
      ),
    };
  }

  async openOrders(accountId?: string): Promise<VenueOpenOrders> {
    return {
      accounts: await this.each(
        accountId,
        (client) => this.readOpenOrders(client),
        (base, orders) => ({ ...base, orders }),
        { orders: [] },
      ),
    };
  }

  private async each<T, L extends BalanceLine | OpenOrdersLine>(
    accountId: string | undefined,
    read: (client: Exchange) => Promise<T>,
    line: (base: { accountId: string; exchangeId: string; at: string }, value: T) => L,
    empty: Omit<L, 'accountId' | 'exchangeId' | 'at' | 'error'>,
  ): Promise<L[]> {
    const accounts = await this.select(accountId);
    return Promise.all(
      accounts.map(async (account) => {
        const base = { accountId: account.id, exchangeId: account.exchangeId, at: new Date().toISOString() };
        try {
          const client = await this.clients.forAccount(account);
          // The time the venue is asked (a first client loads its markets before): reconciliation books
          // the fills executed after it on top of balances read then.
          base.at = new Date().toISOString();
          return line(base, await read(client));
        } catch (err) {
          return { ...base, ...empty, error: describeVenueError(err).message } as L;
        }
      }),
    );
  }

  private async select(accountId: string | undefined): Promise<ExchangeAccountRow[]> {
    if (accountId === undefined) return this.accounts.list();
    const account = await this.accounts.get(accountId);
    if (!account) throw new GatewayException('NOT_FOUND', `no exchange account ${accountId}`);
    return [account];
  }

  private async readBalances(client: Exchange): Promise<BalanceLine['balances']> {
    const balance = await client.fetchBalance();
    const total = (balance.total ?? {}) as unknown as Record<string, number | undefined>;
    const free = (balance.free ?? {}) as unknown as Record<string, number | undefined>;
    const used = (balance.used ?? {}) as unknown as Record<string, number | undefined>;
    return Object.keys(total)
      .sort()
      .map((asset) => ({ asset, free: toDecimalString(free[asset] ?? 0), used: toDecimalString(used[asset] ?? 0), total: toDecimalString(total[asset] ?? 0) }));
  }

  private async readOpenOrders(client: Exchange): Promise<OpenOrdersLine['orders']> {
    const open = await client.fetchOpenOrders();
    return open.map((o) => ({
      venueOrderId: String(o.id),
      clientOrderId: o.clientOrderId ?? null,
      symbol: o.symbol ?? '?',
      side: String(o.side),
      price: o.price === undefined ? null : toDecimalString(o.price),
      quantity: toDecimalString(o.amount ?? 0),
      filled: toDecimalString(o.filled ?? 0),
    }));
  }
}
