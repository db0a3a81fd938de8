import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import { MarketSubscribeCmd, TickerUpdatedMd, type Ticker } from '@garde/contracts';
import { Decimal, quoteTime, referencePrice, type MarketQuote } from '@garde/domain';
import { JsonLogger, MessageBus, SERVICE_CONFIG, type ContextLogger } from '@garde/platform';
import type { RiskConfig } from '../config/risk.config.js';

const RISK_ACTOR = { id: 'risk-service', kind: 'service' as const };
const key = (exchangeId: string, symbol: string) => `${exchangeId}|${symbol}`;
const dec = (v: string | null | undefined) => (v ? Decimal.of(v) : null);

/**
 * The reference prices and instrument steps the checks use: the gateway's ticker broadcasts
 * (`gateway.md.ticker.updated.>`, core NATS), the latest per market. The gateway polls only the markets
 * in use, so risk-service asks it (MarketSubscribeCmd) to keep polling each market an order
 * is checked on, and, for a market it has never seen a ticker of, waits up to REFERENCE_LOOKUP_TIMEOUT_MS
 * for the first one. A missed broadcast is replaced by the next; a price is judged by its age.
 */
@Injectable()
export class MarketPrices implements OnApplicationShutdown {
  private readonly quotes = new Map<string, MarketQuote>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private readonly lookups = new Map<string, Promise<void>>();
  private readonly subscribedAt = new Map<string, number>();
  private subscription?: Subscription;
  private readonly log: ContextLogger;

  constructor(
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('market-prices');
  }

  start(): void {
    this.subscription ??= this.bus.listen(TickerUpdatedMd, '>', (ticker) => this.onTicker(ticker));
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /** The latest quote seen for a market, of any age. */
  quote(exchangeId: string, symbol: string): MarketQuote | undefined {
    return this.quotes.get(key(exchangeId, symbol));
  }

  /** The latest reference price seen for a market, of any age (to value holdings of other markets). */
  readonly priceOf = (exchangeId: string, symbol: string): Decimal | undefined => {
    const quote = this.quote(exchangeId, symbol);
    return (quote && referencePrice(quote)) ?? undefined;
  };

  /**
   * The quote to check an order on: the latest seen, else the first the gateway publishes once asked
   * (within REFERENCE_LOOKUP_TIMEOUT_MS). Keeps the market's subscription renewed either way.
   */
  async quoteFor(exchangeId: string, symbol: string): Promise<MarketQuote | undefined> {
    const k = key(exchangeId, symbol);
    const known = this.quotes.get(k);
    if (known) {
      this.renew(exchangeId, symbol);
      return known;
    }
    let lookup = this.lookups.get(k);
    if (!lookup) {
      lookup = this.lookup(exchangeId, symbol).finally(() => this.lookups.delete(k));
      this.lookups.set(k, lookup);
    }
    await lookup;
    return this.quotes.get(k);
  }

  private async lookup(exchangeId: string, symbol: string): Promise<void> {
    const k = key(exchangeId, symbol);
    const deadline = Date.now() + this.config.REFERENCE_LOOKUP_TIMEOUT_MS;
    const arrived = new Promise<void>((resolve) => this.waiting.set(k, [...(this.waiting.get(k) ?? []), resolve]));
    const asked = await this.subscribe(exchangeId, symbol, this.config.REFERENCE_LOOKUP_TIMEOUT_MS);
    if (!asked || this.quotes.has(k)) return;
    // The gateway publishes the first ticker before it answers; it may still be on its way.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
  }

  /** Asks the gateway to keep polling the market when the last ask is a third of its TTL old. */
  private renew(exchangeId: string, symbol: string): void {
    const k = key(exchangeId, symbol);
    if (Date.now() - (this.subscribedAt.get(k) ?? 0) < this.config.MARKET_SUBSCRIPTION_TTL_MS / 3) return;
    this.subscribedAt.set(k, Date.now());
    void this.subscribe(exchangeId, symbol, 2000);
  }

  private async subscribe(exchangeId: string, symbol: string, timeoutMs: number): Promise<boolean> {
    const k = key(exchangeId, symbol);
    const reply = await this.bus.request(
      MarketSubscribeCmd,
      { exchangeId, symbol, ttlMs: this.config.MARKET_SUBSCRIPTION_TTL_MS },
      { actor: RISK_ACTOR },
      timeoutMs,
    );
    if (reply.ok) {
      this.subscribedAt.set(k, Date.now());
      return true;
    }
    this.subscribedAt.delete(k);
    this.log.warn('the gateway did not take a market subscription', { exchangeId, symbol, code: reply.error.code, message: reply.error.message });
    return false;
  }

  private onTicker(ticker: Ticker): void {
    const k = key(ticker.exchangeId, ticker.symbol);
    let quote: MarketQuote;
    try {
      quote = {
        bid: dec(ticker.bid),
        ask: dec(ticker.ask),
        last: dec(ticker.last),
        tickSize: dec(ticker.tickSize),
        stepSize: dec(ticker.stepSize),
        at: quoteTime(ticker.venueTime ? Date.parse(ticker.venueTime) : null, Date.parse(ticker.receivedAt)),
      };
    } catch {
      return;
    }
    // Two gateway replicas may publish the same market: keep the younger price.
    const held = this.quotes.get(k);
    if (held && held.at > quote.at) return;
    this.quotes.set(k, quote);
    const waiting = this.waiting.get(k);
    if (waiting) {
      this.waiting.delete(k);
      for (const resolve of waiting) resolve();
    }
  }
}
