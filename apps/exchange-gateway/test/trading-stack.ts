import { startSimulator, type RunningSimulator, type VenueConfigInput } from '@garde/exchange-simulator';
import type { MessageBus, RunningService } from '@garde/platform';
import { createSandbox, until, type TestSandbox } from '@garde/testing';
import { startRiskService } from '../../risk-service/src/app.js';
import { BotOrdersQry, RiskLimitsSetCmd, TickersQry, type Order } from '@garde/contracts';
import { startExchangeGateway } from '../src/app.js';
import { TEST_API_TOKENS, apiClient } from './api-client.js';

/**
 * Firm limits wide enough for the venue tests, which send orders far beyond any sensible risk limit on
 * purpose (a venue refusal, a bot whose orders the venue keeps rejecting), bursts of orders and the same
 * order of a bot twice in a row: what they test is the path to the venue. With them, risk-service's
 * duplicate window is off (DUPLICATE_ORDER_WINDOW_MS=0). The limits themselves are tested in
 * apps/risk-service/test.
 */
export const WIDE_FIRM_LIMITS = {
  maxOrderNotional: '1000000000',
  maxOpenNotional: '1000000000000',
  maxMessagesPerSecond: 10_000,
  priceCollarPercent: '1000',
  maxReferenceAgeMs: 3_600_000,
};

/**
 * Sets a simulated venue's faults through its control URL (POST merges them; `null` clears them all).
 * See apps/exchange-simulator/src/faults/fault-settings.ts.
 */
export function setFaults(controlUrl: string, faults: Record<string, unknown> | null): Promise<Response> {
  return fetch(`${controlUrl}/faults`, {
    method: faults ? 'POST' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    ...(faults ? { body: JSON.stringify(faults) } : {}),
  });
}

/**
 * Sets a simulated venue's BTC/USDT price and waits until the gateway has broadcast it on `bus` (a bot
 * created or stepped next sees it).
 */
export async function setVenuePrice(stack: TradingStack, bus: MessageBus, venue: { id: string; exchangeId: string }, price: string): Promise<void> {
  await fetch(`${stack.sim.venue(venue.id).controlUrl}/price`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ symbol: 'BTC/USDT', price }),
  });
  await until(
    () => bus.request(TickersQry, { exchangeId: venue.exchangeId, symbol: 'BTC/USDT' }),
    (r) => r.ok && Number(r.result.tickers[0]?.last) === Number(price),
    5000,
    50,
  );
}

/** Every order of a bot, as the gateway has them (through bot-service's query). */
export async function botOrders(bus: MessageBus, botId: string): Promise<Order[]> {
  const reply = await bus.request(BotOrdersQry, { botId, since: new Date(0).toISOString() });
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.result.orders;
}

export interface TradingStack {
  sandbox: TestSandbox;
  sim: RunningSimulator;
  /** risk-service as it runs now (a new one after `startRisk`). */
  readonly risk: RunningService;
  gateway: RunningService;
  /** Stops risk-service (an outage, a restart's first half); `startRisk` starts a new one on the same database. */
  stopRisk(): Promise<void>;
  startRisk(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What the gateway's venue tests run against: a sandbox, the exchange simulator, risk-service and the
 * gateway (with TEST_TOKENS), and one exchange account per `accounts` entry, added through the API.
 */
export async function startTradingStack(opts: {
  label: string;
  venues: VenueConfigInput[];
  /** The gateway's environment on top of the sandbox's (a function: from the sandbox, e.g. its database behind a proxy). */
  gatewayEnv?: Record<string, string> | ((sandbox: TestSandbox) => Record<string, string>);
  accounts: Array<{ id: string; exchangeId: string; venue: string; apiKey: string; secret: string }>;
  /** Keep the firm limits the migration seeds (default: WIDE_FIRM_LIMITS). */
  defaultRiskLimits?: boolean;
  riskEnv?: Record<string, string>;
}): Promise<TradingStack> {
  const sandbox = await createSandbox(opts.label);
  const sim = await startSimulator({ venues: opts.venues });
  // No periodic reconciliation unless a test asks for it (riskEnv): the venue tests inject faults that
  // make the venue and the ledger differ on purpose, and a discrepancy halts the bots (RB-003).
  const riskEnv = sandbox.env({ ...(opts.defaultRiskLimits ? {} : { DUPLICATE_ORDER_WINDOW_MS: '0' }), RECONCILE_INTERVAL_MS: '0', ...opts.riskEnv });
  let risk: RunningService | undefined = await startRiskService(riskEnv);
  if (!opts.defaultRiskLimits) {
    const set = await risk.runtime.bus.request(
      RiskLimitsSetCmd,
      { scope: 'firm', changes: WIDE_FIRM_LIMITS, reason: 'venue tests: limits out of the way' },
      { actor: { id: 'trading-stack', kind: 'operator', role: 'risk' } },
    );
    if (!set.ok) throw new Error(`could not widen the risk limits: ${set.error.message}`);
  }
  const gatewayEnv = typeof opts.gatewayEnv === 'function' ? opts.gatewayEnv(sandbox) : opts.gatewayEnv;
  const gateway = await startExchangeGateway(sandbox.env({ GARDE_API_TOKENS: TEST_API_TOKENS, ...gatewayEnv }));
  const api = apiClient(() => gateway.url);
  for (const a of opts.accounts) {
    const added = await api('admin', 'POST', '/api/v1/exchange-accounts', {
      id: a.id,
      exchangeId: a.exchangeId,
      ccxtId: 'binance',
      urlOverride: sim.venue(a.venue).url,
      apiKey: a.apiKey,
      secret: a.secret,
    });
    if (added.status !== 201) throw new Error(`could not add account ${a.id}: ${JSON.stringify(added.body)}`);
  }
  return {
    sandbox,
    sim,
    get risk() {
      if (!risk) throw new Error('risk-service is stopped (stopRisk)');
      return risk;
    },
    gateway,
    stopRisk: async () => {
      await risk?.close();
      risk = undefined;
    },
    startRisk: async () => {
      risk ??= await startRiskService(riskEnv);
    },
    stop: async () => {
      await gateway.close();
      await risk?.close();
      await sim.stop();
      await sandbox.dispose();
    },
  };
}
