import type { RateCall, RateWindow } from '@garde/domain';

/** How one venue counts requests: the weight of each call, and the limits it publishes. */
export interface VenueRateProfile {
  /** The weight and priority of a REST call, by ccxt's (path, HTTP method, params). */
  classify(path: string, method: string, params: Record<string, unknown>): RateCall;
  /** The limits published in a response of this path (Binance: exchangeInfo's `rateLimits`), or undefined. */
  limitsIn(path: string, response: unknown): RateWindow[] | undefined;
  /** The venue's count of used weight in a response's headers, with its window. */
  usedIn(headers: Record<string, string>): { intervalMs: number; used: number } | undefined;
}

const priorityOf = (path: string, method: string): RateCall['priority'] =>
  method === 'DELETE' ? 'cancel' : method === 'POST' && path === 'order' ? 'order' : 'query';

const hasSymbol = (p: Record<string, unknown>) => p.symbol !== undefined;

/** Binance spot request weights (its REST API documentation), by `<METHOD> <path under /api/v3>`. */
const BINANCE_WEIGHTS: Record<string, (params: Record<string, unknown>) => number> = {
  'GET ping': () => 1,
  'GET time': () => 1,
  'GET exchangeInfo': () => 20,
  'GET ticker/24hr': (p) => (hasSymbol(p) ? 2 : p.symbols !== undefined ? 40 : 80),
  'GET ticker/price': (p) => (hasSymbol(p) ? 2 : 4),
  'GET ticker/bookTicker': (p) => (hasSymbol(p) ? 2 : 4),
  'GET account': () => 20,
  'GET openOrders': (p) => (hasSymbol(p) ? 6 : 80),
  'GET allOrders': () => 20,
  'GET myTrades': () => 20,
  'GET order': () => 4,
  'POST order': () => 1,
  'DELETE order': () => 1,
  'DELETE openOrders': () => 1,
};

const INTERVAL_MS: Record<string, number> = { SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

/** Binance's exchangeInfo `rateLimits` as budget windows (RAW_REQUESTS, REQUEST_WEIGHT, ORDERS). */
export function binanceWindows(info: unknown): RateWindow[] | undefined {
  const limits = (info as { rateLimits?: unknown } | null)?.rateLimits;
  if (!Array.isArray(limits)) return undefined;
  const windows: RateWindow[] = [];
  for (const entry of limits as Array<Record<string, unknown>>) {
    const unit = { REQUEST_WEIGHT: 'weight', RAW_REQUESTS: 'requests', ORDERS: 'orders' }[String(entry.rateLimitType)] as RateWindow['unit'] | undefined;
    const intervalMs = (INTERVAL_MS[String(entry.interval)] ?? 0) * Number(entry.intervalNum ?? 1);
    const limit = Number(entry.limit);
    if (unit && intervalMs > 0 && Number.isInteger(limit) && limit > 0) windows.push({ unit, intervalMs, limit });
  }
  return windows.length ? windows : undefined;
}

export const BINANCE_PROFILE: VenueRateProfile = {
  classify: (path, method, params) => ({ priority: priorityOf(path, method), weight: BINANCE_WEIGHTS[`${method} ${path}`]?.(params) ?? 1 }),
  limitsIn: (path, response) => (path === 'exchangeInfo' ? binanceWindows(response) : undefined),
  usedIn: (headers) => {
    const value = Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-mbx-used-weight-1m')?.[1];
    const used = Number(value);
    return value !== undefined && Number.isFinite(used) ? { intervalMs: 60_000, used } : undefined;
  },
};

/** A venue that publishes no limits: one request each, at the pace ccxt keeps for it (`rateLimit` ms apart). */
export const GENERIC_PROFILE: VenueRateProfile = {
  classify: (path, method) => ({ priority: priorityOf(path, method), weight: 1 }),
  limitsIn: () => undefined,
  usedIn: () => undefined,
};

/** The limits to start with, before the venue has published its own: ccxt's pace for that exchange. */
export function ccxtDefaultWindows(rateLimitMs: number): RateWindow[] {
  return [{ unit: 'requests', intervalMs: 60_000, limit: Math.max(1, Math.floor(60_000 / Math.max(1, rateLimitMs))) }];
}

export function profileFor(ccxtId: string): VenueRateProfile {
  return ccxtId.startsWith('binance') ? BINANCE_PROFILE : GENERIC_PROFILE;
}

/** A Retry-After header (seconds or an HTTP date) in milliseconds, if there is one. */
export function retryAfterMs(headers: Record<string, string>, now: number): number | undefined {
  const value = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
