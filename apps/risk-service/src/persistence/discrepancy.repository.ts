import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Actor, Discrepancy, DiscrepancyKind } from '@garde/contracts';
import { Decimal, sightingKey } from '@garde/domain';
import { lockAccount } from './ledger.repository.js';

export interface NewDiscrepancy {
  accountId: string;
  exchangeId: string;
  kind: DiscrepancyKind;
  subject: string;
  venue?: Decimal | undefined;
  ledger?: Decimal | undefined;
  difference?: Decimal | undefined;
  tolerance?: Decimal | undefined;
  message: string;
  detectedAt: Date;
  correlationId: string;
  /** When the venue was first read for it: an adjustment recorded since makes the finding stale. */
  lookedAt: Date;
}

interface DiscrepancyRow {
  id: string;
  account_id: string;
  exchange_id: string;
  kind: DiscrepancyKind;
  subject: string;
  venue_value: string | null;
  ledger_value: string | null;
  difference: string | null;
  tolerance: string | null;
  message: string;
  status: 'OPEN' | 'CLEARED';
  detected_at: Date;
  halted_bots: string[];
  cleared_at: Date | null;
  cleared_by: Actor | null;
  clear_reason: string | null;
}

const COLUMNS = `id::text AS id, account_id, exchange_id, kind, subject, venue_value::text AS venue_value, ledger_value::text AS ledger_value,
  difference::text AS difference, tolerance::text AS tolerance, message, status, detected_at, halted_bots, cleared_at, cleared_by, clear_reason`;

/** PostgreSQL side of the reconciliation records: the discrepancies, and who runs the periodic reconciliation. */
@Injectable()
export class DiscrepancyRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records a confirmed difference, under the account's lock. Null when the same one is open already
   * (another replica, or an earlier run, recorded it), or when a manual reconciliation adjusted the
   * account since the venue was read for it (the finding is stale).
   */
  record(input: NewDiscrepancy): Promise<Discrepancy | null> {
    return this.ds.transaction(async (em) => {
      await lockAccount(em, input.accountId);
      const adjusted = await em.query<unknown[]>("SELECT 1 FROM ledger_entry WHERE account_id = $1 AND kind = 'adjustment' AND recorded_at >= $2 LIMIT 1", [
        input.accountId,
        input.lookedAt,
      ]);
      if (adjusted.length > 0) return null;
      const rows = await em.query<DiscrepancyRow[]>(
        `INSERT INTO reconciliation_discrepancy (account_id, exchange_id, kind, subject, venue_value, ledger_value, difference, tolerance, message, detected_at, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (account_id, kind, subject) WHERE status = 'OPEN' DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          input.accountId,
          input.exchangeId,
          input.kind,
          input.subject,
          input.venue?.toString() ?? null,
          input.ledger?.toString() ?? null,
          input.difference?.toString() ?? null,
          input.tolerance?.toString() ?? null,
          input.message,
          input.detectedAt,
          input.correlationId,
        ],
      );
      return rows[0] ? toDiscrepancy(rows[0]) : null;
    });
  }

  /** Notes the bots halted for a discrepancy. */
  async setHaltedBots(id: string, bots: readonly string[]): Promise<Discrepancy> {
    const [rows] = await this.ds.query<[DiscrepancyRow[], number]>(
      `UPDATE reconciliation_discrepancy SET halted_bots = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, [...bots]],
    );
    return toDiscrepancy(rows[0]!);
  }

  /** The open discrepancies (or all with `all`), most recent first, at most `limit`. */
  async list(query: { all: boolean; exchangeId?: string | undefined; limit?: number }): Promise<Discrepancy[]> {
    const rows = await this.ds.query<DiscrepancyRow[]>(
      `SELECT ${COLUMNS} FROM reconciliation_discrepancy
        WHERE ($1 OR status = 'OPEN') AND ($2::text IS NULL OR exchange_id = $2)
        ORDER BY detected_at DESC, id DESC
        LIMIT $3`,
      [query.all, query.exchangeId ?? null, query.limit ?? 1000],
    );
    return rows.map(toDiscrepancy);
  }

  /** Open discrepancies per account. */
  async openPerAccount(): Promise<Map<string, number>> {
    const rows = await this.ds.query<Array<{ account_id: string; n: string }>>(
      "SELECT account_id, count(*)::text AS n FROM reconciliation_discrepancy WHERE status = 'OPEN' GROUP BY account_id",
    );
    return new Map(rows.map((r) => [r.account_id, Number(r.n)]));
  }

  /** What is open: `account|kind|subject` keys (libs/domain sightingKey). */
  async openKeys(): Promise<Set<string>> {
    const rows = await this.ds.query<Array<{ account_id: string; kind: DiscrepancyKind; subject: string }>>(
      "SELECT account_id, kind, subject FROM reconciliation_discrepancy WHERE status = 'OPEN'",
    );
    return new Set(rows.map((r) => sightingKey({ accountId: r.account_id, kind: r.kind, subject: r.subject })));
  }

  /** Open discrepancies per kind (for the metric). */
  async openPerKind(): Promise<Map<DiscrepancyKind, number>> {
    const rows = await this.ds.query<Array<{ kind: DiscrepancyKind; n: string }>>(
      "SELECT kind, count(*)::text AS n FROM reconciliation_discrepancy WHERE status = 'OPEN' GROUP BY kind",
    );
    return new Map(rows.map((r) => [r.kind, Number(r.n)]));
  }

  /**
   * Claims the periodic reconciliation for `holder` unless another replica ran it less than `gapMs`
   * ago (one atomic statement): only one replica at a time does the periodic run.
   */
  async claimPeriodicRun(holder: string, gapMs: number): Promise<boolean> {
    const rows = await this.ds.query<Array<{ name: string }>>(
      `INSERT INTO reconciliation_schedule AS s (name, last_run_at, holder) VALUES ('periodic', now(), $1)
       ON CONFLICT (name) DO UPDATE SET last_run_at = now(), holder = EXCLUDED.holder
        WHERE s.last_run_at <= now() - make_interval(secs => $2::double precision / 1000)
       RETURNING name`,
      [holder, gapMs],
    );
    return rows.length > 0;
  }
}

function toDiscrepancy(row: DiscrepancyRow): Discrepancy {
  return {
    id: row.id,
    accountId: row.account_id,
    exchangeId: row.exchange_id,
    kind: row.kind,
    subject: row.subject,
    venue: plain(row.venue_value),
    ledger: plain(row.ledger_value),
    difference: plain(row.difference),
    tolerance: plain(row.tolerance),
    message: row.message,
    status: row.status,
    detectedAt: row.detected_at.toISOString(),
    haltedBots: row.halted_bots,
    clearedAt: row.cleared_at ? row.cleared_at.toISOString() : null,
    clearedBy: row.cleared_by,
    clearReason: row.clear_reason,
  };
}

/** PostgreSQL's numeric text (`0.50000000`) in its shortest form (`0.5`). */
const plain = (value: string | null): string | null => (value === null ? null : Decimal.of(value).toString());
