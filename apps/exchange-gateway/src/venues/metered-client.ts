import type { Exchange } from 'ccxt';
import type { AccountRateLimiter } from './account-rate-limiter.js';

type Fetch2 = Exchange['fetch2'];
type HandleErrors = Exchange['handleErrors'];

/**
 * Puts every REST call of a ccxt client through its account's rate limiter, in place of ccxt's own
 * throttler: the limiter is asked before the request is signed (so a wait never stales its timestamp),
 * sees every answer's status and headers (429, 418, the venue's weight count) before ccxt turns them
 * into exceptions, and reads the limits the venue publishes (exchangeInfo).
 */
export function meterVenueCalls(client: Exchange, limiter: AccountRateLimiter): void {
  client.enableRateLimit = false;
  const fetch2: Fetch2 = client.fetch2.bind(client);
  const handleErrors: HandleErrors = client.handleErrors.bind(client);
  client.fetch2 = async (path, api, method = 'GET', params = {}, headers, body, config) => {
    const ticket = await limiter.beforeCall(limiter.profile.classify(String(path), method, params));
    try {
      const response: unknown = await fetch2(path, api, method, params, headers, body, config);
      const windows = limiter.profile.limitsIn(String(path), response);
      if (windows) limiter.venueLimits(windows);
      return response;
    } finally {
      limiter.afterCall(ticket);
    }
  };
  client.handleErrors = (status, statusText, url, method, responseHeaders, ...rest) => {
    limiter.observe(status, (responseHeaders ?? {}) as Record<string, string>);
    return handleErrors(status, statusText, url, method, responseHeaders, ...rest);
  };
}
