import { describe, expect, it } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import pg from 'pg';
import { JsonLogger } from '@garde/platform';
import { freePort } from '@garde/testing';
import { GatewayException } from '../errors/gateway.exception.js';
import { ApiErrorFilter } from './api-error.filter.js';

/** What the filter answers for `exception`: status and body, as the HTTP client gets them. */
function answer(exception: unknown): { status: number; body: unknown } {
  const sent = { status: 0, body: undefined as unknown };
  const res = {
    status: (code: number) => ((sent.status = code), res),
    json: (body: unknown) => void (sent.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new ApiErrorFilter(new JsonLogger('exchange-gateway/test', 'fatal')).catch(exception, host);
  return sent;
}

describe('ApiErrorFilter', () => {
  it('a database out of reach is 503 UNAVAILABLE with its cause, not an unexpected failure', async () => {
    const refused = await new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'postgres', database: 'test' })
      .connect()
      .catch((err: unknown) => err);
    expect(answer(refused)).toEqual({
      status: 503,
      body: {
        error: {
          code: 'UNAVAILABLE',
          message: expect.stringMatching(/^exchange-gateway cannot reach what it depends on \(ECONNREFUSED 127\.0\.0\.1:\d+\); try again once it is back$/),
        },
      },
    });
  });

  it('a refusal keeps its code and status; anything else is 500 INTERNAL', () => {
    expect(answer(new GatewayException('NOT_FOUND', 'no order x-1'))).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no order x-1' } } });
    expect(answer(new TypeError('x is undefined'))).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'unexpected failure in exchange-gateway; see its logs' } },
    });
  });
});
