import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import type { ExchangeAccount } from '@garde/contracts';
import { ExchangeAccountRow } from './exchange-account.entity.js';

/** PostgreSQL side of the exchange accounts. TypeORM stays in here. */
@Injectable()
export class ExchangeAccountRepository {
  constructor(private readonly ds: DataSource) {}

  /** False when the id is taken. */
  async insert(row: ExchangeAccountRow): Promise<boolean> {
    try {
      await this.ds.getRepository(ExchangeAccountRow).insert(row);
      return true;
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  async list(): Promise<ExchangeAccountRow[]> {
    return this.ds.getRepository(ExchangeAccountRow).find({ order: { id: 'ASC' } });
  }

  async get(id: string): Promise<ExchangeAccountRow | null> {
    return this.ds.getRepository(ExchangeAccountRow).findOneBy({ id });
  }

  /** The removed row, or null when there was none. */
  async remove(id: string): Promise<ExchangeAccountRow | null> {
    return this.ds.transaction(async (em) => {
      const row = await em.findOne(ExchangeAccountRow, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (row) await em.delete(ExchangeAccountRow, { id });
      return row;
    });
  }

  /** Records or clears (null) an account's rate-limit halt. */
  async setRateLimitHalt(id: string, halt: ExchangeAccountRow['rateLimitHalt']): Promise<void> {
    await this.ds.getRepository(ExchangeAccountRow).update({ id }, { rateLimitHalt: halt });
  }

  async count(): Promise<number> {
    return this.ds.getRepository(ExchangeAccountRow).count();
  }
}

/** The API's view of a row: no secret, only the end of the key. */
export function toExchangeAccount(row: ExchangeAccountRow): ExchangeAccount {
  return {
    id: row.id,
    exchangeId: row.exchangeId,
    ccxtId: row.ccxtId,
    urlOverride: row.urlOverride,
    sandbox: row.sandbox,
    apiKeyHint: row.apiKeyHint,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}
