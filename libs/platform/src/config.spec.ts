import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { Decimal } from '@garde/domain';
import { BaseServiceEnv, ConfigError, loadConfig, maskSecrets } from './config.js';
import { JsonLogger } from './logger.js';

describe('loadConfig', () => {
  const schema = BaseServiceEnv.extend({ API_SECRET: z.string().min(8) });

  it('reports every problem at once, without echoing values', () => {
    let error: unknown;
    try {
      loadConfig('svc', schema, { DATABASE_URL: 'mysql://u:hunter2@db/x', HTTP_PORT: 'eighty', API_SECRET: 'short' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(3);
    for (const key of ['DATABASE_URL', 'HTTP_PORT', 'API_SECRET']) expect((error as Error).message).toContain(`- ${key}: `);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('applies defaults', () => {
    const config = loadConfig('svc', schema, { DATABASE_URL: 'postgres://u@h/test', HTTP_PORT: '0', API_SECRET: '12345678' });
    expect(config).toMatchObject({ NATS_URL: 'nats://127.0.0.1:4222', GARDE_NAMESPACE: '', LOG_LEVEL: 'info', HTTP_PORT: 0 });
  });
});

describe('secret redaction', () => {
  it('masks secret-looking keys and passwords in URLs, at any depth', () => {
    expect(maskSecrets({ DATABASE_URL: 'postgres://garde:s3cret@db:5432/garde', API_SECRET: 'abc', nested: { token: 'x', name: 'ok' } })).toEqual({
      DATABASE_URL: 'postgres://garde:***@db:5432/garde',
      API_SECRET: '***',
      nested: { token: '***', name: 'ok' },
    });
  });

  it('logs value objects as they serialize themselves, maps as objects and bigints as strings (a config holding decimals must not crash the logger)', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('svc', 'info', (l) => lines.push(l));
    logger.child('boot').info('starting', {
      config: { TOLERANCE: Decimal.of('0.00001'), PER_ASSET: new Map([['USDT', Decimal.of('0.01')]]), COUNT: 12n },
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({ config: { TOLERANCE: '0.00001', PER_ASSET: { USDT: '0.01' }, COUNT: '12' } });
  });

  it('writes one JSON object per line with secrets masked', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('svc', 'info', (l) => lines.push(l));
    logger.child('auth').info('connecting to postgres://u:pw@h/db', { apiKey: 'k-123', attempt: 2 });
    logger.child('auth').debug('not shown below the level');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      service: 'svc',
      context: 'auth',
      msg: 'connecting to postgres://u:***@h/db',
      apiKey: '***',
      attempt: 2,
    });
  });
});
