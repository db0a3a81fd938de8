import path from 'node:path';
import { z } from 'zod';
import { Decimal } from '@garde/domain';
import { DEFAULT_SYMBOLS, type SymbolConfig } from './engine/symbols.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './faults/rate-limiter.js';

const decimalString = z.string().refine(Decimal.isDecimal, 'must be a decimal string');

export const AccountConfig = z.object({
  apiKey: z.string().min(1),
  secret: z.string().min(1),
  /** Opening free balances by asset, decimal strings. */
  balances: z.record(z.string(), decimalString).default({}),
});
export type AccountConfig = z.infer<typeof AccountConfig>;

const SymbolConfigSchema = z.object({
  symbol: z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/),
  tickSize: decimalString,
  stepSize: decimalString,
  minQty: decimalString.optional(),
  maxQty: decimalString.optional(),
  minNotional: decimalString.optional(),
  initialPrice: decimalString,
  maxFillQtyPerTick: decimalString.optional(),
}) satisfies z.ZodType<SymbolConfig>;

export const VenueConfig = z.object({
  /** The venue's id, e.g. `sim-binance`: the gateway names the exchange by it. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535),
  host: z.string().default('127.0.0.1'),
  symbols: z
    .array(SymbolConfigSchema)
    .min(1)
    .default([...DEFAULT_SYMBOLS]),
  accounts: z.array(AccountConfig).default([]),
  makerFee: decimalString.default('0.001'),
  takerFee: decimalString.default('0.001'),
  /**
   * Where the venue keeps its books across restarts (a JSON file: balances, orders, trades, prices, where
   * each price path is), as a real venue keeps an account's; read at start when it exists, written after
   * every order, cancel or fill and at stop. Absent: the venue starts afresh each time.
   */
  stateFile: z.string().min(1).optional(),
  /** Seed of the price paths: the same seed gives the same prices. */
  seed: z.number().int().default(42),
  /** Milliseconds between two steps of the random walk; 0 freezes prices (tests move them by hand). */
  tickIntervalMs: z.number().int().min(0).default(1000),
  /** Largest relative move per step, e.g. `0.0005` = 0.05 %. */
  volatility: decimalString.default('0.0005'),
  rateLimits: z
    .object({
      requestWeightPerMinute: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.requestWeightPerMinute),
      ordersPer10Seconds: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.ordersPer10Seconds),
      ordersPerDay: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.ordersPerDay),
      banAfter429s: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.banAfter429s),
      banSeconds: z.number().int().min(1).default(DEFAULT_RATE_LIMITS.banSeconds),
    })
    .default({ ...DEFAULT_RATE_LIMITS }) satisfies z.ZodType<RateLimits>,
});
export type VenueConfig = z.infer<typeof VenueConfig>;
/** What callers write: every field but id and port has a default. */
export type VenueConfigInput = z.input<typeof VenueConfig>;

export const SimulatorConfig = z.object({
  venues: z.array(VenueConfig).min(1),
  /** Control port serving /__sim/venues/<id>/… for every venue, reachable while a venue refuses connections. */
  controlPort: z.number().int().min(0).max(65535).default(0),
  host: z.string().default('127.0.0.1'),
});
export type SimulatorConfig = z.infer<typeof SimulatorConfig>;
export type SimulatorConfigInput = z.input<typeof SimulatorConfig>;

/** The account `npm run simulator` opens on every venue unless SIM_ACCOUNTS says otherwise. */
export const DEMO_ACCOUNT: AccountConfig = {
  apiKey: 'sim-demo-key',
  secret: 'sim-demo-secret',
  balances: { USDT: '100000', BTC: '1', ETH: '10', SOL: '100' },
};

/**
 * The configuration from the environment: SIM_CONFIG (a JSON document of the whole config) or
 *   SIM_VENUES=sim-binance:4600,sim-kraken:4601  SIM_CONTROL_PORT=4699  SIM_HOST=127.0.0.1
 *   SIM_ACCOUNTS='[{"apiKey":…,"secret":…,"balances":{"USDT":"1000"}}]'  SIM_SEED=42
 *   SIM_TICK_MS=1000  SIM_VOLATILITY=0.0005  SIM_MAKER_FEE=0.001  SIM_TAKER_FEE=0.001
 *   SIM_STATE_DIR=.garde/simulator (each venue's books kept in <dir>/<venue-id>.json across restarts)
 * All problems are reported at once.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): SimulatorConfig {
  if (env.SIM_CONFIG) return SimulatorConfig.parse(JSON.parse(env.SIM_CONFIG));
  const accounts: unknown = env.SIM_ACCOUNTS ? JSON.parse(env.SIM_ACCOUNTS) : [DEMO_ACCOUNT];
  const venues = (env.SIM_VENUES ?? 'sim-binance:4600').split(',').map((entry, i) => {
    const [id, port] = entry.trim().split(':');
    return {
      id,
      port: Number(port),
      host: env.SIM_HOST,
      accounts,
      seed: env.SIM_SEED === undefined ? undefined : Number(env.SIM_SEED) + i,
      tickIntervalMs: env.SIM_TICK_MS === undefined ? undefined : Number(env.SIM_TICK_MS),
      volatility: env.SIM_VOLATILITY,
      makerFee: env.SIM_MAKER_FEE,
      takerFee: env.SIM_TAKER_FEE,
      stateFile: env.SIM_STATE_DIR ? path.join(env.SIM_STATE_DIR, `${id}.json`) : undefined,
    };
  });
  return SimulatorConfig.parse({ venues, controlPort: env.SIM_CONTROL_PORT === undefined ? 4699 : Number(env.SIM_CONTROL_PORT), host: env.SIM_HOST });
}
