import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Exchange, MarketInterface, Ticker as CcxtTicker } from 'ccxt';
import { TickerUpdatedMd, tickerKey, type Ticker, type TickerView } from '@garde/contracts';
import { JsonLogger, MessageBus, SERVICE_CONFIG, errorFields, runEvery, type ContextLogger, type PeriodicTask } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { GatewayMetrics } from '../metrics/gateway.metrics.js';
import { VenueOrderRepository } from '../persistence/venue-order.repository.js';
import { toDecimalString } from '../use-cases/submit-order/venue-outcome.js';
import { VenueClients } from '../venues/venue-clients.js';

/** ccxt's `precisionMode` in which a market's precision is its step (ccxt exports it untyped). */
const CCXT_TICK_SIZE = 4;

const decimalOrNull = (v: number | string | undefined): string | null => (v === undefined || v === null ? null : toDecimalString(v));

/**
 * Market data (issue 3 §8): the tickers of the symbols in use — those with live orders, those in
 * MARKET_DATA_SYMBOLS, and those a consumer subscribed to (for a time it renews) — polled from their
 * venue every MARKET_DATA_POLL_MS through the account's rate-limit budget (as queries: new orders and
 * cancels come first), published on core NATS, and kept with their age for queries. A ticker whose
 * venue stops answering ages, and shows as stale.
 */
@Injectable()
export class MarketData implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly tickers = new Map<string, Ticker>();
  private readonly subscriptions = new Map<string, { exchangeId: string; symbol: string; until: number }>();
  private polling: PeriodicTask | undefined;
  private readonly log: ContextLogger;

  constructor(
    private readonly clients: VenueClients,
    private readonly orders: VenueOrderRepository,
    private readonly bus: MessageBus,
    private readonly metrics: GatewayMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('market-data');
    metrics.onTickerScrape(() => this.view());
  }

  onApplicationBootstrap(): void {
    this.polling = runEvery(
      this.config.MARKET_DATA_POLL_MS,
      () => this.pollAll(),
      (err) => this.log.error('a market-data pass failed', errorFields(err)),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.polling?.stop();
  }

  /** Keeps a symbol polled for `ttlMs`; refused when its exchange has no account or no such market. */
  async subscribe(exchangeId: string, symbol: string, ttlMs: number): Promise<{ exchangeId: string; symbol: string; until: string }> {
    const client = await this.clients.forExchange(exchangeId);
    if (!client.markets || !(symbol in client.markets)) {
      throw new GatewayException('INVALID_REQUEST', `${exchangeId} has no market ${symbol}`, { exchangeId, symbol });
    }
    const until = Date.now() + ttlMs;
    this.subscriptions.set(tickerKey(exchangeId, symbol), { exchangeId, symbol, until });
    if (!this.tickers.has(tickerKey(exchangeId, symbol))) await this.poll(exchangeId, client, [symbol]);
    return { exchangeId, symbol, until: new Date(until).toISOString() };
  }

  /** The latest tickers, with their age now. */
  view(filter: { exchangeId?: string; symbol?: string } = {}): TickerView[] {
    const now = Date.now();
    return [...this.tickers.values()]
      .filter((t) => (filter.exchangeId === undefined || t.exchangeId === filter.exchangeId) && (filter.symbol === undefined || t.symbol === filter.symbol))
      .sort((a, b) => a.exchangeId.localeCompare(b.exchangeId) || a.symbol.localeCompare(b.symbol))
      .map((t) => {
        const ageMs = Math.max(0, Math.round(now - Date.parse(t.venueTime ?? t.receivedAt)));
        return { ...t, ageMs, stale: ageMs > this.config.MARKET_DATA_STALE_MS };
      });
  }

  async pollAll(): Promise<void> {
    const now = Date.now();
    for (const [key, s] of this.subscriptions) if (s.until <= now) this.subscriptions.delete(key);
    const wanted = new Map<string, Set<string>>();
    const want = (exchangeId: string, symbol: string) => wanted.set(exchangeId, (wanted.get(exchangeId) ?? new Set()).add(symbol));
    for (const s of this.config.MARKET_DATA_SYMBOLS) want(s.exchangeId, s.symbol);
    for (const s of this.subscriptions.values()) want(s.exchangeId, s.symbol);
    for (const s of await this.orders.liveSymbols()) want(s.exchangeId, s.symbol);
    await Promise.all(
      [...wanted].map(async ([exchangeId, symbols]) => {
        try {
          const client = await this.clients.forExchange(exchangeId);
          await this.poll(
            exchangeId,
            client,
            [...symbols].filter((s) => client.markets && s in client.markets),
          );
        } catch (err) {
          this.metrics.tickerPolls.inc({ exchange: exchangeId, result: 'failed' });
          this.log.warn('could not poll the tickers of an exchange', { exchangeId, ...errorFields(err) });
        }
      }),
    );
  }

  private async poll(exchangeId: string, client: Exchange, symbols: string[]): Promise<void> {
    const results = await Promise.allSettled(symbols.map((symbol) => client.fetchTicker(symbol)));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') {
        this.metrics.tickerPolls.inc({ exchange: exchangeId, result: 'failed' });
        this.log.warn('could not read a ticker', { exchangeId, symbol: symbols[i], ...errorFields(result.reason) });
        continue;
      }
      this.metrics.tickerPolls.inc({ exchange: exchangeId, result: 'ok' });
      const ticker = this.toTicker(exchangeId, symbols[i]!, result.value, client);
      this.tickers.set(tickerKey(exchangeId, ticker.symbol), ticker);
      this.bus.broadcast(TickerUpdatedMd, ticker, tickerKey(exchangeId, ticker.symbol));
    }
  }

  private toTicker(exchangeId: string, symbol: string, t: CcxtTicker, client: Exchange): Ticker {
    // ccxt's binance gives steps (TICK_SIZE precision mode): the price step and the lot size.
    const market: MarketInterface | undefined = (client.markets as Record<string, MarketInterface> | undefined)?.[symbol];
    const precision = client.precisionMode === CCXT_TICK_SIZE ? market?.precision : undefined;
    return {
      exchangeId,
      symbol,
      bid: decimalOrNull(t.bid),
      ask: decimalOrNull(t.ask),
      last: decimalOrNull(t.last),
      tickSize: decimalOrNull(precision?.price),
      stepSize: decimalOrNull(precision?.amount),
      venueTime: t.timestamp ? new Date(t.timestamp).toISOString() : null,
      receivedAt: new Date().toISOString(),
    };
  }
}
