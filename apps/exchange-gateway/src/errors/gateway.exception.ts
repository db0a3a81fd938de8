import type { ErrorCode } from '@garde/contracts';
import { ServiceError } from '@garde/platform';

/** exchange-gateway's one exception type. */
export class GatewayException extends ServiceError {}

/** The one mapping from error codes to HTTP statuses (exhaustive: a new code fails to compile here). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  CONTRACT_VIOLATION: 400,
  INVALID_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_TRANSITION: 409,
  KILL_SWITCH_ACTIVE: 423,
  RISK_DENIED: 422,
  EXCHANGE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  NO_VENUE_CONFIGURED: 422,
  UNKNOWN_SYMBOL: 422,
  AUDIT_CHAIN_BROKEN: 409,
  RETENTION_NOT_REACHED: 409,
  RISK_STATE_UNKNOWN: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};
