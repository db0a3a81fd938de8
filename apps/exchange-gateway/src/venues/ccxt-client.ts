import ccxt, { type Exchange } from 'ccxt';

export interface VenueAccess {
  ccxtId: string;
  /** Base URL replacing the host of every ccxt API URL (paths kept), or null. */
  urlOverride: string | null;
  sandbox: boolean;
  apiKey: string;
  secret: string;
  timeoutMs: number;
}

type ExchangeClass = new (config: Record<string, unknown>) => Exchange;

/** True when ccxt has an exchange class of that id. */
export function isCcxtExchange(id: string): boolean {
  return ccxt.exchanges.includes(id);
}

/**
 * One ccxt instance per account (ccxt's throttler is per instance). ccxt never retries here: an order
 * call must never be resent blindly (STACK.md). Markets are loaded from the spot endpoints only.
 */
export function createCcxtClient(access: VenueAccess): Exchange {
  const Class = (ccxt as unknown as Record<string, ExchangeClass | undefined>)[access.ccxtId];
  if (!isCcxtExchange(access.ccxtId) || typeof Class !== 'function') throw new RangeError(`ccxt has no exchange "${access.ccxtId}"`);
  const exchange = new Class({
    apiKey: access.apiKey,
    secret: access.secret,
    timeout: access.timeoutMs,
    enableRateLimit: true,
    // The kill switch asks for every open order of an account at once (no symbol).
    options: {
      fetchMarkets: { types: ['spot'] },
      fetchMargins: false,
      fetchCurrencies: false,
      maxRetriesOnFailure: 0,
      warnOnFetchOpenOrdersWithoutSymbol: false,
    },
  });
  if (access.sandbox) exchange.setSandboxMode(true);
  if (access.urlOverride) rewriteHosts(exchange.urls.api, new URL(access.urlOverride));
  return exchange;
}

/** Points every API URL (nested maps included) at `base`, keeping each URL's path. */
function rewriteHosts(urls: unknown, base: URL): void {
  if (!urls || typeof urls !== 'object') return;
  const map = urls as Record<string, unknown>;
  for (const [key, value] of Object.entries(map)) {
    if (typeof value === 'string' && /^https?:\/\//.test(value)) {
      const url = new URL(value);
      map[key] = `${base.origin}${base.pathname.replace(/\/$/, '')}${url.pathname}`;
    } else {
      rewriteHosts(value, base);
    }
  }
}

/** What a failed venue call means for the operator, from ccxt's error classes. */
export function describeVenueError(err: unknown): { kind: 'credentials' | 'unreachable' | 'venue'; message: string } {
  const message = err instanceof Error ? err.message.slice(0, 300) : String(err);
  if (err instanceof ccxt.AuthenticationError || err instanceof ccxt.PermissionDenied) return { kind: 'credentials', message };
  if (err instanceof ccxt.NetworkError) return { kind: 'unreachable', message };
  return { kind: 'venue', message };
}
