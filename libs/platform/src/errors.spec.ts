import { describe, expect, it } from '@jest/globals';
import { unreachableCause } from './errors.js';

/** Failures shaped as Node, pg and TypeORM raise them. */
const nodeError = (code: string, syscall: string, address?: string, port?: number) =>
  Object.assign(new Error(`${syscall} ${code}${address ? ` ${address}:${port}` : ''}`), { code, syscall, errno: -111, ...(address ? { address, port } : {}) });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('unreachableCause', () => {
  it('names a dependency out of reach: connection refused or cut, PostgreSQL shut down or restarting', () => {
    expect(unreachableCause(nodeError('ECONNREFUSED', 'connect', '127.0.0.1', 5432))).toBe('ECONNREFUSED 127.0.0.1:5432');
    expect(unreachableCause(nodeError('ECONNRESET', 'read'))).toBe('read ECONNRESET');
    expect(unreachableCause(pgError('57P01', 'terminating connection due to administrator command'))).toBe(
      'PostgreSQL: terminating connection due to administrator command',
    );
    expect(unreachableCause(pgError('57P03', 'the database system is starting up'))).toBe('PostgreSQL: the database system is starting up');
    expect(unreachableCause(pgError('08006', 'connection failure'))).toBe('PostgreSQL: connection failure');
    expect(unreachableCause(new Error('Connection terminated unexpectedly'))).toBe('PostgreSQL: Connection terminated unexpectedly');
    expect(unreachableCause(Object.assign(new Error('Query runner already released.'), { name: 'QueryRunnerAlreadyReleasedError' }))).toBe(
      'PostgreSQL: the connection was lost',
    );
  });

  it('looks inside TypeORM’s wrapper and an error’s cause', () => {
    const wrapped = Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: pgError('57P01', 'terminating connection') });
    expect(unreachableCause(wrapped)).toBe('PostgreSQL: terminating connection');
    expect(unreachableCause(new Error('step failed', { cause: nodeError('ETIMEDOUT', 'connect', '10.0.0.5', 5432) }))).toBe('ETIMEDOUT 10.0.0.5:5432');
  });

  it('leaves every other failure alone: a constraint, a bug, a non-error', () => {
    expect(unreachableCause(pgError('23505', 'duplicate key value violates unique constraint "venue_order_pkey"'))).toBeUndefined();
    expect(unreachableCause(new TypeError("Cannot read properties of undefined (reading 'state')"))).toBeUndefined();
    expect(unreachableCause('a string')).toBeUndefined();
    expect(unreachableCause(undefined)).toBeUndefined();
  });
});
