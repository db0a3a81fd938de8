import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { ErrorBody } from '@garde/contracts';
import { JsonLogger, ServiceError, errorFields, unreachableCause } from '@garde/platform';
import { HTTP_STATUS } from '../errors/gateway.exception.js';

/** The HTTP edge's one error mapper: every failure becomes `{ error: { code, message, details? } }`. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status: number;
    let body: ErrorBody;
    if (exception instanceof ServiceError) {
      status = HTTP_STATUS[exception.code];
      body = exception.toBody();
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const code =
        status === 404 ? 'NOT_FOUND' : status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : status < 500 ? 'INVALID_REQUEST' : 'INTERNAL';
      // Express's body parser fails on a body that is not JSON; Nest maps it with the parser's bare message.
      const badJson = exception.cause instanceof SyntaxError;
      body = { code, message: badJson ? `the request body is not valid JSON: ${exception.message}` : exception.message };
    } else {
      this.logger.child('http').error('unhandled error', errorFields(exception));
      const unreachable = unreachableCause(exception);
      status = unreachable ? HTTP_STATUS.UNAVAILABLE : 500;
      body = unreachable
        ? { code: 'UNAVAILABLE', message: `exchange-gateway cannot reach what it depends on (${unreachable}); try again once it is back` }
        : { code: 'INTERNAL', message: 'unexpected failure in exchange-gateway; see its logs' };
    }
    res.status(status).json({ error: body });
  }
}
