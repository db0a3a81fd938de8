import type { ErrorBody, ErrorCode } from '@garde/contracts';

/**
 * Base of every service's exception (`RiskException`, `BotException`, …): a closed code from the
 * contracts, a message for people, structured details. Only the transports map it (bus reply, HTTP).
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toBody(): ErrorBody {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

/** Node's codes for a peer that cannot be reached, or went away mid-call. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * What an unexpected failure says when it is a dependency out of reach (PostgreSQL down, restarting,
 * or its connection cut), for the operators' error: undefined for any other failure. Recognized: Node's
 * connection errors, PostgreSQL's connection exceptions (SQLSTATE class 08) and shutdowns (57P01–57P03),
 * pg's "Connection terminated…", and TypeORM's released query runner; also when wrapped by TypeORM
 * (`driverError`) or as a `cause`.
 */
export function unreachableCause(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const { code, message, address, port, name } = e as { code?: unknown; message?: unknown; address?: unknown; port?: unknown; name?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
      if (typeof address !== 'string') return text || code;
      return typeof port === 'number' ? `${code} ${address}:${port}` : `${code} ${address}`;
    }
    if (typeof code === 'string' && /^(08[0-9A-Z]{3}|57P0[123])$/.test(code)) return `PostgreSQL: ${text || code}`;
    if (text.startsWith('Connection terminated')) return `PostgreSQL: ${text}`;
    if (name === 'QueryRunnerAlreadyReleasedError') return 'PostgreSQL: the connection was lost';
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}
