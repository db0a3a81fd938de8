import { TickerUpdatedMd, type Ticker } from '@garde/contracts';
import { Decimal, type MarketSnapshot } from '@garde/domain';
import type { MessageBus } from '@garde/platform';

/** Why a bot's market cannot be traded on now (metric label). */
export type MarketUnavailable = 'no-market-data' | 'stale-market-data';

/**
 * The latest ticker of every market, as the gateway broadcasts them (core NATS): the strategy engine
 * steps a bot when its market ticks, from here, without asking the gateway.
 */
export class MarketCache {
  /**
   * Each market's latest ticker, its decimals parsed once for every bot of the market (`market`), and the
   * snapshot last given (the bots a ticker wakes step in the same millisecond: one snapshot for all).
   */
  private readonly tickers = new Map<string, { ticker: Ticker; at: number; market?: Omit<MarketSnapshot, 'at'>; snapshot?: MarketSnapshot }>();
  private readonly listeners: Array<(exchangeId: string, symbol: string, receivedAt: number) => void> = [];

  constructor(
    bus: MessageBus,
    private readonly maxAgeMs: number,
  ) {
    bus.listen(TickerUpdatedMd, '>', (ticker) => {
      const at = Date.parse(ticker.receivedAt);
      this.tickers.set(marketKey(ticker.exchangeId, ticker.symbol), { ticker, at });
      for (const listener of this.listeners) listener(ticker.exchangeId, ticker.symbol, at);
    });
  }

  /** Called on every ticker, with the time the gateway received it (epoch ms). */
  onTicker(listener: (exchangeId: string, symbol: string, receivedAt: number) => void): void {
    this.listeners.push(listener);
  }

  /** The market as a strategy sees it, or why it cannot: no complete ticker yet, or one too old. */
  snapshot(exchangeId: string, symbol: string, now = Date.now()): MarketSnapshot | MarketUnavailable {
    const entry = this.tickers.get(marketKey(exchangeId, symbol));
    const t = entry?.ticker;
    if (!entry || !t?.bid || !t.ask || !t.last) return 'no-market-data';
    if (now - entry.at > this.maxAgeMs) return 'stale-market-data';
    entry.market ??= {
      symbol,
      bid: Decimal.of(t.bid),
      ask: Decimal.of(t.ask),
      last: Decimal.of(t.last),
      ...(t.tickSize ? { tickSize: Decimal.of(t.tickSize) } : {}),
      ...(t.stepSize ? { stepSize: Decimal.of(t.stepSize) } : {}),
    };
    if (entry.snapshot?.at !== now) entry.snapshot = { ...entry.market, at: now };
    return entry.snapshot;
  }
}

export const marketKey = (exchangeId: string, symbol: string): string => `${exchangeId}/${symbol}`;
