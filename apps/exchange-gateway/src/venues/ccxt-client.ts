import { createHmac } from 'node:crypto';
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
  signNatively(exchange);
  return exchange;
}

/** The HMACs node computes itself, by name; ccxt's hash functions are matched to them by their output. */
const NATIVE_HMACS = ['sha256', 'sha512', 'sha384', 'sha1', 'md5'];

/**
 * ccxt signs every private call (each order sent) with an HMAC computed in JavaScript (@noble/hashes),
 * ~4 times the CPU of node's own: the instance's `hmac` is replaced by node's for the hashes node has.
 * Which one a ccxt hash function is, is found once, by comparing both on a probe; any other hash or
 * encoding stays with ccxt's own.
 */
function signNatively(exchange: Exchange): void {
  type Hash = Parameters<Exchange['hmac']>[2];
  const ccxtHmac = exchange.hmac;
  const algorithms = new WeakMap<Hash, string | null>();
  const algorithmOf = (hash: Hash): string | null => {
    let algorithm = algorithms.get(hash);
    if (algorithm === undefined) {
      const expected = ccxtHmac('garde probe', 'key', hash, 'hex') as string;
      algorithm = NATIVE_HMACS.find((name) => createHmac(name, 'key').update('garde probe').digest('hex') === expected) ?? null;
      algorithms.set(hash, algorithm);
    }
    return algorithm;
  };
  type Digest = Parameters<Exchange['hmac']>[3];
  exchange.hmac = ((request: string | Uint8Array, secret: string | Uint8Array, hash: Hash, digest: Digest = 'hex'): unknown => {
    if (digest === 'hex' || digest === 'base64') {
      const algorithm = algorithmOf(hash);
      if (algorithm !== null) return createHmac(algorithm, secret).update(request).digest(digest);
    }
    return ccxtHmac(request, secret, hash, digest) as unknown;
  }) as typeof exchange.hmac;
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
