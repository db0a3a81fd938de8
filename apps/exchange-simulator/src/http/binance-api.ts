import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Admission } from '../faults/rate-limiter.js';
import { VenueError } from '../engine/types.js';
import { type Venue } from '../venue.js';
import { readBody, sendError, sendJson, sendText, sleep } from './http-io.js';
import { ROUTES, NoAnswer, type RouteContext } from './binance-routes.js';
import { verifySigned } from './signature.js';

/**
 * Serves one Binance spot REST call: faults first (latency, 503, bans, 429s), then the venue's own
 * rate limits, the signature check for SIGNED endpoints, and the route. Errors use Binance's
 * `{ code, msg }` body and HTTP status, which ccxt maps to its exception classes.
 */
export async function handleBinance(venue: Venue, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const rawBody = await readBody(req);
  const faults = venue.faults;
  if (faults.latencyMs) await sleep(faults.latencyMs);
  // A plain-text 503, as a load balancer sends it: ccxt sees no Binance code and maps the status.
  if (faults.unavailable) return sendText(res, 503, 'Service Unavailable');

  const route = ROUTES.find((r) => r.method === req.method && r.path === url.pathname);
  if (!route) return sendText(res, 404, 'Not Found');

  const rawQuery = url.search.slice(1);
  const params = new URLSearchParams(rawQuery && rawBody ? `${rawQuery}&${rawBody}` : rawQuery || rawBody);
  const ip = req.socket.remoteAddress ?? 'unknown';
  const apiKeyHeader = header(req, 'x-mbx-apikey');
  let admission: Admission;
  if (faults.banned) admission = venue.limiter.ban(ip, faults.banned.seconds);
  else if (faults.rateLimited) {
    const f = faults.rateLimited;
    admission = venue.limiter.forced429(ip, f.retryAfterSeconds, f.banAfter, f.banSeconds);
  } else admission = venue.limiter.admit(ip, route.weight(params), route.countsAsOrder ? (apiKeyHeader ?? ip) : undefined);
  if (!admission.ok) {
    return sendError(res, admission.status, admission.code, admission.msg, { 'Retry-After': String(admission.retryAfterSeconds) });
  }
  const headers = {
    'X-MBX-USED-WEIGHT-1M': String(admission.usedWeight),
    ...(route.countsAsOrder ? { 'X-MBX-ORDER-COUNT-10S': String(admission.orderCount10s) } : {}),
  };

  try {
    const apiKey = route.signed ? verifySigned(apiKeyHeader, rawQuery, rawBody, (k) => venue.secretOf(k), venue.clock()) : undefined;
    const context: RouteContext = { venue, params, apiKey: apiKey ?? '' };
    const body = route.handle(context);
    // An order placed or cancelled is in the venue's saved books before its answer leaves (or is withheld).
    if (route.method !== 'GET') venue.save();
    if (body instanceof NoAnswer) return hang(res, body.hangMs);
    sendJson(res, 200, body, headers);
  } catch (err) {
    if (err instanceof VenueError) return sendError(res, err.httpStatus, err.code, err.msg, headers);
    throw err;
  }
}

/** Leaves the request unanswered: the client times out, or the socket is dropped after `hangMs`. */
function hang(res: ServerResponse, hangMs: number | undefined): void {
  if (hangMs === undefined) return;
  const timer = setTimeout(() => res.socket?.destroy(), hangMs);
  res.on('close', () => clearTimeout(timer));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
