import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { Order } from '@garde/contracts';
import { FINAL_ORDER_STATES } from '@garde/domain';
import { Batcher } from '@garde/platform';
import { VenueFillRow } from './venue-fill.entity.js';
import { VenueOrderRow } from './venue-order.entity.js';

type OrderChanges = Partial<Pick<VenueOrderRow, 'state' | 'venueOrderId' | 'filled' | 'lastError' | 'lookups' | 'nextCheckAt' | 'venueSeenAt'>>;

/** The SQL type of each column an update may change (a batched update's values need them). */
const CHANGE_TYPES: Record<keyof OrderChanges, string> = {
  state: 'text',
  venueOrderId: 'text',
  filled: 'numeric',
  lastError: 'text',
  lookups: 'integer',
  nextCheckAt: 'timestamptz',
  venueSeenAt: 'timestamptz',
};

/** An order not final: being sent, open, partly filled, unknown or being cancelled (alias `o`). */
const LIVE = `o.state NOT IN (${FINAL_ORDER_STATES.map((s) => `'${s}'`).join(', ')})`;

/**
 * Orders per statement on the submit path, and statements in flight at once. One at a time: the orders
 * arriving meanwhile wait for it and go together in the next, which under load is fewer statements (each
 * a round trip and a commit) for the same orders. bench/order-pipeline at 500 orders/s,
 * back to back: p50 41–57 ms against 79–81 ms with four in flight (BENCHMARKS.md).
 */
const BATCH = { maxBatch: 64, maxInFlight: 1 };

/**
 * The order path's statements of at most this many orders are named prepared statements: each connection
 * parses and plans one once, then only binds it (a VALUES list of a known length plans the same whatever
 * its values, so PostgreSQL keeps the generic plan after its first five runs). Parsing and planning were
 * about half of PostgreSQL's time on these statements (statement log, bench/order-pipeline at 500/s).
 * Larger batches, rare and then cheap per order, are not kept: each length would be a plan held by every
 * connection.
 */
const PREPARED_UP_TO = 8;

/**
 * PostgreSQL side of the orders. TypeORM stays in here.
 *
 * The two writes every order makes on its way to the venue (PENDING_SUBMIT, then the venue's answer)
 * go through group commits (Batcher): the orders of one event-loop turn, or arriving while a statement
 * is in flight, are written by one statement. A lone order waits for nothing; under load, each statement
 * — a round trip, a commit, a wake-up of PostgreSQL and of this process — carries several orders.
 */
@Injectable()
export class VenueOrderRepository {
  private columnNames: Map<string, string> | undefined;
  private returning: string | undefined;
  /** Prepared statements' names by text: few (PREPARED_UP_TO lengths of a handful of statements). */
  private readonly statementNames = new Map<string, string>();
  private readonly pendings = new Batcher<VenueOrderRow, { inserted: boolean; row: VenueOrderRow }>((rows) => this.insertPendings(rows), BATCH);
  private readonly answers = new Batcher<{ clientOrderId: string; changes: OrderChanges }, VenueOrderRow>((items) => this.writeAnswers(items), BATCH);

  constructor(private readonly ds: DataSource) {}

  /**
   * Records an order as PENDING_SUBMIT before it is sent. When the client order id already exists
   * (a retry, or a concurrent duplicate), nothing is written and the existing order is returned.
   */
  insertPending(row: VenueOrderRow): Promise<{ inserted: boolean; row: VenueOrderRow }> {
    return this.pendings.add(row);
  }

  private async insertPendings(rows: VenueOrderRow[]): Promise<Array<{ inserted: boolean; row: VenueOrderRow }>> {
    // Plain SQL on the order path: TypeORM's query builder costs more CPU than the statement itself.
    const columns = this.columns();
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const start = values.length;
      for (const c of columns) values.push((row as unknown as Record<string, unknown>)[c.propertyName]);
      return `(${columns.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    const inserted = await this.run<{ client_order_id: string }>(
      `INSERT INTO venue_order (${columns.map((c) => c.databaseName).join(', ')}) VALUES ${tuples.join(', ')}
       ON CONFLICT (client_order_id) DO NOTHING RETURNING client_order_id`,
      values,
      rows.length <= PREPARED_UP_TO,
    );
    // An id inserted here is this batch's first submit of it; a second one in the same batch is a duplicate.
    const fresh = new Set(inserted.map((r) => r.client_order_id));
    const outcomes = rows.map((row) => (fresh.delete(row.clientOrderId) ? { inserted: true, row } : undefined));
    const others = rows.filter((_, i) => !outcomes[i]);
    const existing = new Map((await this.byIds(others.map((r) => r.clientOrderId))).map((r) => [r.clientOrderId, r]));
    return rows.map((row, i) => {
      const outcome = outcomes[i] ?? (existing.has(row.clientOrderId) ? { inserted: false, row: existing.get(row.clientOrderId)! } : undefined);
      if (!outcome) throw new Error(`order ${row.clientOrderId} neither inserted nor found`);
      return outcome;
    });
  }

  async get(clientOrderId: string): Promise<VenueOrderRow | null> {
    return this.ds.getRepository(VenueOrderRow).findOneBy({ clientOrderId });
  }

  /** These orders as recorded now, oldest first (unknown ids are left out). */
  async byIds(clientOrderIds: string[]): Promise<VenueOrderRow[]> {
    if (clientOrderIds.length === 0) return [];
    return this.ds
      .getRepository(VenueOrderRow)
      .createQueryBuilder('o')
      .where('o.client_order_id = ANY(:ids)', { ids: clientOrderIds })
      .orderBy('o.created_at', 'ASC')
      .getMany();
  }

  /**
   * PENDING_SUBMIT orders older than `before` were being sent by a process that died (no send lasts
   * longer than the venue timeout): their outcome is unknown. They become UNKNOWN, to be looked up.
   */
  async abandonedSubmits(before: Date, nextCheckAt: Date): Promise<string[]> {
    const rows: [Array<{ client_order_id: string }>, number] = await this.ds.query(
      `UPDATE venue_order SET state = 'UNKNOWN', next_check_at = $2, updated_at = now(),
              last_error = 'the gateway stopped while sending it: outcome unknown'
        WHERE state = 'PENDING_SUBMIT' AND updated_at < $1
        RETURNING client_order_id`,
      [before, nextCheckAt],
    );
    return rows[0].map((r) => r.client_order_id);
  }

  /** UNKNOWN orders whose next lookup is due, oldest first. */
  async dueUnknown(now: Date, limit: number, accountId?: string): Promise<VenueOrderRow[]> {
    const qb = this.ds.getRepository(VenueOrderRow).createQueryBuilder('o').where("o.state = 'UNKNOWN' AND o.next_check_at <= :now", { now });
    if (accountId !== undefined) qb.andWhere('o.account_id = :accountId', { accountId });
    return qb.orderBy('o.next_check_at', 'ASC').limit(limit).getMany();
  }

  /** Open orders whose next poll is due, oldest first. */
  async duePoll(now: Date, limit: number, accountId?: string): Promise<VenueOrderRow[]> {
    const qb = this.ds
      .getRepository(VenueOrderRow)
      .createQueryBuilder('o')
      .where("o.state IN ('OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL') AND o.next_check_at <= :now", { now });
    if (accountId !== undefined) qb.andWhere('o.account_id = :accountId', { accountId });
    return qb.orderBy('o.next_check_at', 'ASC').limit(limit).getMany();
  }

  /**
   * Records fills not seen before (by account and trade id); returns the new ones. Plain SQL: TypeORM's
   * insert with `orIgnore().returning()` gives no rows back on PostgreSQL, which hid every fresh fill.
   */
  async insertFills(rows: VenueFillRow[]): Promise<VenueFillRow[]> {
    if (rows.length === 0) return [];
    const returned = await this.ds.query<Array<{ account_id: string; trade_id: string }>>(
      `INSERT INTO venue_fill (account_id, trade_id, client_order_id, price, quantity, fee, fee_currency, executed_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::text[], $8::timestamptz[])
       ON CONFLICT DO NOTHING RETURNING account_id, trade_id`,
      [
        rows.map((r) => r.accountId),
        rows.map((r) => r.tradeId),
        rows.map((r) => r.clientOrderId),
        rows.map((r) => r.price),
        rows.map((r) => r.quantity),
        rows.map((r) => r.fee),
        rows.map((r) => r.feeCurrency),
        rows.map((r) => r.executedAt),
      ],
    );
    const inserted = new Set(returned.map((r) => `${r.account_id}/${r.trade_id}`));
    return rows.filter((r) => inserted.has(`${r.accountId}/${r.tradeId}`));
  }

  /** A bot's orders not final, and (with `since`) the ones updated since then, oldest first. */
  async forBot(botId: string, since?: Date): Promise<VenueOrderRow[]> {
    const qb = this.ds
      .getRepository(VenueOrderRow)
      .createQueryBuilder('o')
      .where('o.bot_id = :botId', { botId })
      .andWhere(
        since === undefined
          ? "o.state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST')"
          : "(o.state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST') OR o.updated_at >= :since)",
        since === undefined ? {} : { since },
      );
    return qb.orderBy('o.created_at', 'ASC').getMany();
  }

  /** The recorded fills of these orders, in the order they happened. */
  async fillsOf(clientOrderIds: string[]): Promise<VenueFillRow[]> {
    if (clientOrderIds.length === 0) return [];
    return this.ds
      .getRepository(VenueFillRow)
      .createQueryBuilder('f')
      .where('f.client_order_id = ANY(:ids)', { ids: clientOrderIds })
      .orderBy('f.executed_at', 'ASC')
      .getMany();
  }

  /**
   * The symbols of every order not final, per exchange (their prices are in use). Read every
   * MARKET_DATA_POLL_MS: one index probe per market (a skip scan of `venue_order_live_market`), whatever
   * the number of resting orders (a DISTINCT read every one of them: ~5 ms each time, up to 24 ms, at
   * 20,000 resting orders).
   */
  async liveSymbols(): Promise<Array<{ exchangeId: string; symbol: string }>> {
    const rows: Array<{ exchange_id: string; symbol: string }> = await this.ds.query(
      `WITH RECURSIVE market AS (
         (SELECT o.exchange_id, o.symbol FROM venue_order o WHERE ${LIVE} ORDER BY o.exchange_id, o.symbol LIMIT 1)
         UNION ALL
         SELECT next.exchange_id, next.symbol FROM market CROSS JOIN LATERAL (
           SELECT o.exchange_id, o.symbol FROM venue_order o
            WHERE ${LIVE} AND (o.exchange_id, o.symbol) > (market.exchange_id, market.symbol)
            ORDER BY o.exchange_id, o.symbol LIMIT 1) next
       )
       SELECT exchange_id, symbol FROM market`,
    );
    return rows.map((r) => ({ exchangeId: r.exchange_id, symbol: r.symbol }));
  }

  /** Orders whose recorded fills fall short of their filled quantity, last tried before `before`. */
  async fillsOwed(before: Date, limit: number): Promise<VenueOrderRow[]> {
    return this.ds
      .getRepository(VenueOrderRow)
      .createQueryBuilder('o')
      .where('o.fills_pending AND o.updated_at < :before', { before })
      .orderBy('o.updated_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Clears the order's fills owed if its recorded fills now add up; else marks it tried now. */
  async fillsRecorded(clientOrderId: string): Promise<boolean> {
    const rows: [Array<{ fills_pending: boolean }>, number] = await this.ds.query(
      `UPDATE venue_order o
          SET fills_pending = o.filled > (SELECT COALESCE(sum(f.quantity), 0) FROM venue_fill f WHERE f.client_order_id = o.client_order_id),
              updated_at = CASE WHEN o.fills_pending THEN now() ELSE o.updated_at END
        WHERE o.client_order_id = $1
        RETURNING o.fills_pending`,
      [clientOrderId],
    );
    return rows[0][0]?.fills_pending === false;
  }

  /** Orders that may be open at a venue, in a kill-switch scope (global, exchange:<id>, bot:<id>). */
  async liveInScope(scope: { kind: 'global' } | { kind: 'exchange' | 'bot'; id: string }): Promise<VenueOrderRow[]> {
    const qb = this.ds.getRepository(VenueOrderRow).createQueryBuilder('o').where(LIVE);
    if (scope.kind === 'exchange') qb.andWhere('o.exchange_id = :id', { id: scope.id });
    if (scope.kind === 'bot') qb.andWhere('o.bot_id = :id', { id: scope.id });
    return qb.orderBy('o.created_at', 'ASC').getMany();
  }

  /** Per bot of `botIds`, how many of its orders are not final (bots without any are absent). */
  async countLiveByBot(botIds: string[]): Promise<Record<string, number>> {
    const rows = await this.ds
      .getRepository(VenueOrderRow)
      .createQueryBuilder('o')
      .select('o.bot_id', 'botId')
      .addSelect('count(*)', 'live')
      .where(LIVE)
      .andWhere('o.bot_id = ANY(:botIds)', { botIds })
      .groupBy('o.bot_id')
      .getRawMany<{ botId: string; live: string }>();
    return Object.fromEntries(rows.map((r) => [r.botId, Number(r.live)]));
  }

  /** Stuck orders (RB-005): not final, and no venue report since `before` (or ever, for older ones). */
  async stuck(before: Date, exchangeId?: string): Promise<VenueOrderRow[]> {
    return this.stuckQuery(before, exchangeId).orderBy('o.created_at', 'ASC').getMany();
  }

  /** How many are stuck (for the metric: no rows loaded). */
  async countStuck(before: Date): Promise<number> {
    return this.stuckQuery(before).getCount();
  }

  private stuckQuery(before: Date, exchangeId?: string) {
    const qb = this.ds.getRepository(VenueOrderRow).createQueryBuilder('o').where(`${LIVE} AND COALESCE(o.venue_seen_at, o.created_at) < :before`, { before });
    if (exchangeId !== undefined) qb.andWhere('o.exchange_id = :exchangeId', { exchangeId });
    return qb;
  }

  /** Orders per non-final state (for the metrics). */
  async countLive(): Promise<Array<{ state: string; count: number }>> {
    const rows: Array<{ state: string; count: string }> = await this.ds.query(
      "SELECT state, count(*) AS count FROM venue_order WHERE state NOT IN ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'LOST') GROUP BY state",
    );
    return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
  }

  /**
   * The venue's answer to a submit, recorded (batched with other orders' answers). Each client order
   * id is answered once, by the submit that inserted it.
   */
  recordAnswer(clientOrderId: string, changes: OrderChanges): Promise<VenueOrderRow> {
    return this.answers.add({ clientOrderId, changes });
  }

  private async writeAnswers(items: Array<{ clientOrderId: string; changes: OrderChanges }>): Promise<VenueOrderRow[]> {
    // One statement per set of changed columns (an answer, a rejection, an unknown outcome).
    const groups = new Map<string, { columns: Array<keyof OrderChanges>; items: typeof items }>();
    for (const item of items) {
      const columns = changedColumns(item.changes);
      const key = columns.join(',');
      const group = groups.get(key);
      if (group) group.items.push(item);
      else groups.set(key, { columns, items: [item] });
    }
    const written = new Map<string, VenueOrderRow>();
    for (const group of groups.values()) {
      for (const row of await this.write(group.columns, group.items)) written.set(row.clientOrderId, row);
    }
    return items.map((item) => {
      const row = written.get(item.clientOrderId);
      if (!row) throw new Error(`order ${item.clientOrderId} vanished`);
      return row;
    });
  }

  async update(clientOrderId: string, changes: OrderChanges): Promise<VenueOrderRow> {
    const [row] = await this.write(changedColumns(changes), [{ clientOrderId, changes }]);
    if (!row) throw new Error(`order ${clientOrderId} vanished`);
    return row;
  }

  /**
   * The same, only while the order is still in `expected` (what the caller read before asking the
   * venue): null, changing nothing, when another writer moved it meanwhile (a cancel that landed while
   * the tracker was polling must not be overwritten with the venue's older answer).
   */
  async updateIfState(clientOrderId: string, expected: VenueOrderRow['state'], changes: OrderChanges): Promise<VenueOrderRow | null> {
    const [row] = await this.write(changedColumns(changes), [{ clientOrderId, changes }], expected);
    return row ?? null;
  }

  /** One UPDATE of `columns` for every order of `items` (each id once), those not in `expected` left alone; the rows written. */
  private async write(
    columns: Array<keyof OrderChanges>,
    items: Array<{ clientOrderId: string; changes: OrderChanges }>,
    expected?: VenueOrderRow['state'],
  ): Promise<VenueOrderRow[]> {
    const names = (this.columnNames ??= new Map(this.columns().map((c) => [c.propertyName, c.databaseName])));
    const values: unknown[] = [new Date()];
    const tuples = items.map((item) => {
      const start = values.length;
      values.push(item.clientOrderId, ...columns.map((p) => item.changes[p]));
      return `(${[`$${start + 1}::text`, ...columns.map((p, i) => `$${start + i + 2}::${CHANGE_TYPES[p]}`)].join(', ')})`;
    });
    const sets = ['updated_at = $1', ...columns.map((p) => `${names.get(p)} = u.${names.get(p)}`)];
    // A higher filled quantity owes fills until they are recorded (SET sees the row before the update).
    if (columns.includes('filled')) sets.push('fills_pending = o.fills_pending OR u.filled > o.filled');
    let where = 'o.client_order_id = u.client_order_id';
    if (expected !== undefined) {
      values.push(expected);
      where += ` AND o.state = $${values.length}`;
    }
    // The columns by name, not `o.*`: a prepared statement's result may not change shape when a
    // migration adds a column while this process runs.
    const rows = await this.run<Record<string, unknown>>(
      `UPDATE venue_order AS o SET ${sets.join(', ')}
         FROM (VALUES ${tuples.join(', ')}) AS u(client_order_id${columns.map((p) => `, ${names.get(p)}`).join('')})
        WHERE ${where}
        RETURNING ${(this.returning ??= this.columns()
          .map((c) => `o.${c.databaseName}`)
          .join(', '))}`,
      values,
      items.length <= PREPARED_UP_TO,
    );
    return rows.map((raw) => this.fromRaw(raw));
  }

  /**
   * A statement of the order path, on the connections TypeORM holds (its query runner costs more CPU than
   * these statements' own client side), named when `prepared`: one name per text in this process, so on
   * every connection of its pool.
   */
  private async run<R>(text: string, values: unknown[], prepared: boolean): Promise<R[]> {
    const pool = (this.ds.driver as unknown as { master: pg.Pool }).master;
    if (!prepared) return (await pool.query<R & pg.QueryResultRow>(text, values)).rows;
    let name = this.statementNames.get(text);
    if (name === undefined) this.statementNames.set(text, (name = `venue_order_${this.statementNames.size + 1}`));
    return (await pool.query<R & pg.QueryResultRow>({ name, text, values })).rows;
  }

  private columns() {
    return this.ds.getMetadata(VenueOrderRow).columns;
  }

  /** A row as PostgreSQL returned it (column names) as the entity (one round trip instead of two). */
  private fromRaw(raw: Record<string, unknown>): VenueOrderRow {
    const row = new VenueOrderRow();
    for (const column of this.ds.getMetadata(VenueOrderRow).columns)
      (row as unknown as Record<string, unknown>)[column.propertyName] = raw[column.databaseName];
    return row;
  }
}

/** The columns `changes` sets, in a fixed order. */
function changedColumns(changes: OrderChanges): Array<keyof OrderChanges> {
  return (Object.keys(CHANGE_TYPES) as Array<keyof OrderChanges>).filter((p) => changes[p] !== undefined);
}

/** `numeric` comes back as a string with PostgreSQL's scale: trim trailing zeros for the wire. */
export const plain = (value: string): string => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);

/** What a new order is made of; the rest of its row starts as every order's does. */
export type NewOrder = Pick<
  VenueOrderRow,
  'clientOrderId' | 'accountId' | 'exchangeId' | 'botId' | 'symbol' | 'side' | 'type' | 'quantity' | 'price' | 'correlationId'
>;

/** A new order's row, PENDING_SUBMIT: nothing heard from the venue yet. */
export function pendingRow(order: NewOrder, now = new Date()): VenueOrderRow {
  return {
    ...order,
    venueOrderId: null,
    state: 'PENDING_SUBMIT',
    filled: '0',
    fillsPending: false,
    lastError: null,
    lookups: 0,
    nextCheckAt: null,
    venueSeenAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function toOrder(row: VenueOrderRow): Order {
  return {
    clientOrderId: row.clientOrderId,
    venueOrderId: row.venueOrderId,
    accountId: row.accountId,
    exchangeId: row.exchangeId,
    botId: row.botId,
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    quantity: plain(row.quantity),
    price: row.price === null ? null : plain(row.price),
    state: row.state as Order['state'],
    filled: plain(row.filled),
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
