import { createHmac, timingSafeEqual } from 'node:crypto';
import { VenueError } from '../engine/types.js';

/** The API keys this venue knows, with their HMAC secrets. */
export type SecretLookup = (apiKey: string) => string | undefined;

const MAX_RECV_WINDOW = 60_000;
const DEFAULT_RECV_WINDOW = 5_000;
/** Binance refuses a timestamp more than 1 s ahead of its clock. */
const MAX_AHEAD_MS = 1_000;

/**
 * Verifies a Binance SIGNED request: `X-MBX-APIKEY` names the account, `signature` is the hex
 * HMAC-SHA256, under the account's secret, of the query string followed by the body with the
 * `signature` pair removed, and `timestamp` falls within `recvWindow` of the venue's clock.
 * Returns the API key.
 */
export function verifySigned(apiKeyHeader: string | undefined, rawQuery: string, rawBody: string, secrets: SecretLookup, now: number): string {
  if (!apiKeyHeader) throw new VenueError(-2014, 'API-key format invalid.', 401);
  const secret = secrets(apiKeyHeader);
  if (secret === undefined) throw new VenueError(-2015, 'Invalid API-key, IP, or permissions for action.', 401);

  // Binance signs query and body as one string, concatenated as they are; parameters come from both.
  const joined = rawQuery && rawBody ? `${rawQuery}&${rawBody}` : rawQuery || rawBody;
  const pairs = joined.split('&');
  const sigPair = pairs.find((p) => p.startsWith('signature='));
  if (!sigPair) throw new VenueError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
  const payload = stripSignature(rawQuery) + stripSignature(rawBody);
  const expected = createHmac('sha256', secret).update(payload).digest();
  const hex = sigPair.slice('signature='.length);
  // Buffer.from(…, 'hex') silently drops a trailing odd digit: check the form first.
  const given = /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new VenueError(-1022, 'Signature for this request is not valid.');
  }

  const params = new URLSearchParams(joined);
  const timestamp = Number(params.get('timestamp'));
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new VenueError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
  }
  const recvWindowRaw = params.get('recvWindow');
  const recvWindow = recvWindowRaw === null ? DEFAULT_RECV_WINDOW : Number(recvWindowRaw);
  if (!Number.isFinite(recvWindow) || recvWindow <= 0 || recvWindow > MAX_RECV_WINDOW) {
    throw new VenueError(-1131, `recvWindow must be less than ${MAX_RECV_WINDOW}`);
  }
  if (timestamp > now + MAX_AHEAD_MS) throw new VenueError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.");
  if (now - timestamp > recvWindow) throw new VenueError(-1021, 'Timestamp for this request is outside of the recvWindow.');
  return apiKeyHeader;
}

function stripSignature(raw: string): string {
  return raw
    .split('&')
    .filter((p) => !p.startsWith('signature='))
    .join('&');
}
