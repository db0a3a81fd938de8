import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { ExchangeAccountRepository } from '../persistence/exchange-account.repository.js';
import { VenueOrderRepository } from '../persistence/venue-order.repository.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RateLimitState, RateLimitStatus, TickerView } from '@garde/contracts';

const RATE_LIMIT_STATE: Record<RateLimitState, number> = { OK: 0, PAUSED: 1, HALTED: 2 };

/** A window's label: its unit and length, e.g. `weight_1m`, `orders_10s`, `orders_1d`. */
const windowLabel = (w: { unit: string; intervalMs: number }): string =>
  `${w.unit}_${w.intervalMs % 86_400_000 === 0 ? `${w.intervalMs / 86_400_000}d` : w.intervalMs % 60_000 === 0 ? `${w.intervalMs / 60_000}m` : `${w.intervalMs / 1000}s`}`;

@Injectable()
export class GatewayMetrics {
  /** Orders by venue and outcome: the state the venue gave it, or the refusal code (closed sets: bounded labels). */
  readonly orders: Counter<'exchange' | 'result'>;
  /** 1 when the gateway has read the kill-switch state since its last (re)connect; 0 = refusing everything. */
  readonly killSwitchStateKnown: Gauge;
  /** From the submit received to the venue's answer recorded, by outcome (answered, rejected, unknown). */
  readonly submitDuration: Histogram<'outcome'>;
  /**
   * From a kill-switch change decided in risk-service to this gateway acting on it: `announced` for an
   * activation's signal (from its acceptance), `recorded` for the bucket's write (from its `since`).
   */
  readonly killSwitchPropagation: Histogram<'via'>;
  /** Announced activations that were never recorded (the activation failed): they stopped counting. */
  readonly killSwitchUnrecorded: Counter;
  /** UNKNOWN orders settled by a venue lookup, by the state found (or LOST). */
  readonly settledOrders: Counter<'result'>;
  /** From a HALTED scope seen to every venue confirming none of its orders is open. */
  readonly flatDuration: Histogram;
  /** Kill switches after which orders were still open at the deadline (critical). */
  readonly flatFailures: Counter;
  /** 0 while a venue is DISCONNECTED, 1 otherwise, per exchange (one account per exchange: bounded). */
  readonly venueUp: Gauge<'exchange'>;
  /** Probe latency per exchange. */
  readonly venueLatency: Histogram<'exchange'>;
  /** Operators' API requests by route template and status. */
  readonly apiRequests: Counter<'method' | 'route' | 'status'>;

  private rateLimits: () => RateLimitStatus[] = () => [];
  private tickers: () => TickerView[] = () => [];
  /** Ticker reads per exchange: ok or failed. */
  readonly tickerPolls: Counter<'exchange' | 'result'>;

  /** Where the ticker-age gauge reads the tickers at each scrape. */
  onTickerScrape(source: () => TickerView[]): void {
    this.tickers = source;
  }

  /** Where the rate-limit gauges read the accounts' budgets at each scrape. */
  onRateLimitScrape(source: () => RateLimitStatus[]): void {
    this.rateLimits = source;
  }

  constructor(registry: Registry, accounts: ExchangeAccountRepository, orders: VenueOrderRepository, @Inject(SERVICE_CONFIG) config: GatewayConfig) {
    new Gauge({
      name: 'garde_gateway_orders_stuck',
      help: 'Orders not final with no venue report for longer than STUCK_AFTER_MS (RB-005)',
      registers: [registry],
      async collect() {
        this.set(await orders.countStuck(new Date(Date.now() - config.STUCK_AFTER_MS)));
      },
    });
    new Gauge({
      name: 'garde_gateway_exchange_accounts',
      help: 'Exchange accounts configured',
      registers: [registry],
      async collect() {
        this.set(await accounts.count());
      },
    });
    this.orders = new Counter({
      name: 'garde_gateway_orders_total',
      help: 'Order submissions by exchange (not-routed: refused before an account was chosen) and result',
      labelNames: ['exchange', 'result'],
      registers: [registry],
    });
    this.killSwitchStateKnown = new Gauge({
      name: 'garde_gateway_kill_switch_state_known',
      help: '1 when the kill-switch state has been read since the last (re)connect',
      registers: [registry],
    });
    this.submitDuration = new Histogram({
      name: 'garde_gateway_order_submit_seconds',
      help: 'From an order submit received to the venue answer recorded, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 15],
      registers: [registry],
    });
    this.killSwitchPropagation = new Histogram({
      name: 'garde_gateway_kill_switch_propagation_seconds',
      help: 'From a kill-switch change in risk-service to the gateway enforcing it (clocks of both hosts), by what it acted on (announced, recorded)',
      labelNames: ['via'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    this.killSwitchUnrecorded = new Counter({
      name: 'garde_gateway_kill_switch_unrecorded_total',
      help: 'Kill-switch activations announced (by risk-service, or accepted by this API) but not recorded within the pending window (the activation failed)',
      registers: [registry],
    });
    this.venueUp = new Gauge({ name: 'garde_gateway_venue_up', help: '0 while the venue is DISCONNECTED', labelNames: ['exchange'], registers: [registry] });
    this.venueLatency = new Histogram({
      name: 'garde_gateway_venue_latency_seconds',
      help: 'Venue probe latency',
      labelNames: ['exchange'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.flatDuration = new Histogram({
      name: 'garde_gateway_kill_switch_flat_seconds',
      help: 'From a HALTED scope seen to the venues confirming no order of it is open',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.flatFailures = new Counter({
      name: 'garde_gateway_kill_switch_flat_failures_total',
      help: 'Kill switches after which orders of the scope were still open at the deadline',
      registers: [registry],
    });
    this.settledOrders = new Counter({
      name: 'garde_gateway_orders_settled_total',
      help: 'UNKNOWN orders settled by a venue lookup, by the state found (LOST: the venue never heard of it)',
      labelNames: ['result'],
      registers: [registry],
    });
    new Gauge({
      name: 'garde_gateway_orders_live',
      help: 'Orders in each non-final state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const { state, count } of await orders.countLive()) this.set({ state }, count);
      },
    });
    const rateLimits = () => this.rateLimits();
    new Gauge({
      name: 'garde_gateway_rate_limit_used_ratio',
      help: "Share of the venue's published limit used in each window, per account (the budget stops at RATE_LIMIT_UTILIZATION)",
      labelNames: ['exchange', 'account', 'window'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of rateLimits())
          for (const w of s.windows) this.set({ exchange: s.exchangeId, account: s.accountId, window: windowLabel(w) }, w.used / w.limit);
      },
    });
    new Gauge({
      name: 'garde_gateway_rate_limit_state',
      help: 'Rate-limit state per account: 0 OK, 1 PAUSED (429, Retry-After), 2 HALTED (418 ban, operator resume needed)',
      labelNames: ['exchange', 'account'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of rateLimits()) this.set({ exchange: s.exchangeId, account: s.accountId }, RATE_LIMIT_STATE[s.state]);
      },
    });
    new Counter({
      name: 'garde_gateway_venue_rate_limit_answers_total',
      help: 'HTTP 429 (rate limited) and 418 (banned) answers from the venue, per account, since the gateway started',
      labelNames: ['exchange', 'account', 'status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of rateLimits()) {
          this.inc({ exchange: s.exchangeId, account: s.accountId, status: '429' }, s.count429);
          this.inc({ exchange: s.exchangeId, account: s.accountId, status: '418' }, s.count418);
        }
      },
    });
    const tickers = () => this.tickers();
    new Gauge({
      name: 'garde_gateway_ticker_age_seconds',
      help: 'Age of the latest ticker of each symbol in use (stale beyond MARKET_DATA_STALE_MS)',
      labelNames: ['exchange', 'symbol'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of tickers()) this.set({ exchange: t.exchangeId, symbol: t.symbol }, t.ageMs / 1000);
      },
    });
    this.tickerPolls = new Counter({
      name: 'garde_gateway_ticker_polls_total',
      help: 'Ticker reads from the venues, by exchange and result',
      labelNames: ['exchange', 'result'],
      registers: [registry],
    });
    this.apiRequests = new Counter({
      name: 'garde_gateway_api_requests_total',
      help: 'Operators API requests',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
  }
}
