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
