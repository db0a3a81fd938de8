import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '@garde/contracts';
import { Decimal, type LedgerMovement } from '@garde/domain';
import { Batcher } from '@garde/platform';

/** One fill as the ledger books it (from OrderFilledEvt). */
export interface LedgerFill {
  accountId: string;
  exchangeId: string;
  tradeId: string;
  clientOrderId: string;
  botId: string | null;
  symbol: string;
  side: 'buy' | 'sell';
  price: string;
  quantity: string;
  fee: string;
  feeCurrency: string | null;
  executedAt: Date;
  movements: readonly LedgerMovement[];
  /** Why a part of it could not be booked, if so. */
  problem: string | undefined;
  messageId: string;
  correlationId: string;
}

/** An account's ledger: when it was opened and its balance per asset. */
export interface LedgerAccount {
  accountId: string;
  exchangeId: string;
  /** The venue read time its opening is as of. */
  openedAt: Date;
  balances: Map<string, Decimal>;
}

export interface OpeningInput {
  accountId: string;
  exchangeId: string;
  /** The venue read time the balances are as of. */
  asOf: Date;
  balances: ReadonlyArray<{ asset: string; total: Decimal }>;
  actor: Actor;
  reason: string;
  correlationId: string;
  at: Date;
}

export interface ReconcileAccountInput {
  /** Recorded as the opening when the account has none yet (then nothing else is adjusted). */
  opening: OpeningInput;
  /** The adjusting entries, computed from the ledger's balances read under the account's lock. */
  adjust: (ledger: ReadonlyMap<string, Decimal>) => ReadonlyArray<{ asset: string; amount: Decimal }>;
}

export interface ReconcileAccountResult {
  opened: boolean;
  adjustments: Array<{ asset: string; ledgerBefore: Decimal; amount: Decimal }>;
  cleared: Array<{ id: string; haltedBots: string[] }>;
}

/**
 * PostgreSQL side of the ledger (migration 1765350000000): append-only entries per account and asset.
 * Every write that depends on an account's balances takes the account's advisory lock, so that two
 * replicas (or a periodic run and a manual reconciliation) never interleave on one account.
 */
@Injectable()
export class LedgerRepository {
  /**
   * Fills arriving together (a tick that crosses a level fills many orders at once) are booked by one
   * statement: one round trip and one commit for the group, not a transaction of four per fill.
   */
  private readonly fills = new Batcher<LedgerFill, boolean>((fills) => this.insertFills(fills), { maxBatch: 64, maxInFlight: 1 });

  constructor(private readonly ds: DataSource) {}

  /**
   * Applies a fill once per (account, trade id), its row and its legs all or nothing: false when it had
   * been applied already (a redelivery). Fills recorded together share one statement.
   */
  recordFill(fill: LedgerFill): Promise<boolean> {
    return this.fills.add(fill);
  }

  /** One statement for a group of fills: each one's row and legs, or nothing of it when it was applied before. */
  private async insertFills(fills: LedgerFill[]): Promise<boolean[]> {
    const key = (accountId: string, tradeId: string) => `${accountId}\u0000${tradeId}`;
    // The same fill twice in one group (a redelivery that caught up with the first): the first is applied, the next ones are duplicates.
    const keys = fills.map((f) => key(f.accountId, f.tradeId));
    const first = new Map<string, LedgerFill>();
    fills.forEach((f, i) => {
      if (!first.has(keys[i]!)) first.set(keys[i]!, f);
    });
    // In key order: two replicas booking the same fills (a redelivery) take their row locks in the same order, never in a cycle.
    const unique = [...first.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, f]) => f);
    const rows = unique.map((f) => ({
      account_id: f.accountId,
      trade_id: f.tradeId,
      exchange_id: f.exchangeId,
      client_order_id: f.clientOrderId,
      bot_id: f.botId,
      symbol: f.symbol,
      side: f.side,
      price: f.price,
      quantity: f.quantity,
      fee: f.fee,
      fee_currency: f.feeCurrency,
      executed_at: f.executedAt,
      message_id: f.messageId,
      problem: f.problem ?? null,
    }));
    const legs = unique.flatMap((f) =>
      f.movements.map((m) => ({
        account_id: f.accountId,
        trade_id: f.tradeId,
        exchange_id: f.exchangeId,
        asset: m.asset,
        amount: m.amount.toString(),
        leg: m.leg,
        effective_at: f.executedAt,
        correlation_id: f.correlationId,
      })),
    );
    const inserted = await this.ds.query<Array<{ account_id: string; trade_id: string }>>(
      `WITH fill AS (
         INSERT INTO ledger_fill (account_id, trade_id, exchange_id, client_order_id, bot_id, symbol, side, price, quantity, fee, fee_currency, executed_at, recorded_at, message_id, problem)
         SELECT account_id, trade_id, exchange_id, client_order_id, bot_id, symbol, side, price, quantity, fee, fee_currency, executed_at, $3, message_id, problem
           FROM jsonb_to_recordset($1::text::jsonb) AS f(account_id text, trade_id text, exchange_id text, client_order_id text, bot_id text, symbol text,
                side text, price numeric, quantity numeric, fee numeric, fee_currency text, executed_at timestamptz, message_id text, problem text)
         ON CONFLICT (account_id, trade_id) DO NOTHING
         RETURNING account_id, trade_id
       ), leg AS (
         INSERT INTO ledger_entry (account_id, exchange_id, asset, amount, kind, effective_at, recorded_at, trade_id, leg, correlation_id)
         SELECT l.account_id, l.exchange_id, l.asset, l.amount, 'fill', l.effective_at, $3, l.trade_id, l.leg, l.correlation_id
           FROM ROWS FROM (jsonb_to_recordset($2::text::jsonb) AS (account_id text, trade_id text, exchange_id text, asset text, amount numeric, leg text,
                effective_at timestamptz, correlation_id text)) WITH ORDINALITY AS l(account_id, trade_id, exchange_id, asset, amount, leg, effective_at, correlation_id, i)
           JOIN fill USING (account_id, trade_id)
          ORDER BY l.i
       )
       SELECT account_id, trade_id FROM fill`,
      [JSON.stringify(rows), JSON.stringify(legs), new Date()],
    );
    const applied = new Set(inserted.map((r) => key(r.account_id, r.trade_id)));
    return fills.map((f, i) => first.get(keys[i]!) === f && applied.has(keys[i]!));
  }

  /** Takes an account's opening balance from the venue, once: false when it was opened already (by another replica). */
  open(input: OpeningInput): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      await lockAccount(em, input.accountId);
      return insertOpening(em, input);
    });
  }

  /** The opened accounts among `accountIds` (all when absent), with their balances. */
  async accounts(accountIds?: readonly string[]): Promise<Map<string, LedgerAccount>> {
    return readAccounts(this.ds.manager, accountIds);
  }

  /**
   * A manual reconciliation of one account, in one transaction under its lock: the opening when it has
   * none, else the adjusting entries `adjust` computes from the balances read now; then every open
   * discrepancy of the account is cleared with the same actor and reason.
   */
  reconcileAccount(input: ReconcileAccountInput): Promise<ReconcileAccountResult> {
    const { opening } = input;
    return this.ds.transaction(async (em) => {
      await lockAccount(em, opening.accountId);
      const opened = await insertOpening(em, opening);
      const adjustments: ReconcileAccountResult['adjustments'] = [];
      if (!opened) {
        const ledger = (await readAccounts(em, [opening.accountId])).get(opening.accountId)?.balances ?? new Map<string, Decimal>();
        for (const { asset, amount } of input.adjust(ledger)) {
          if (amount.isZero()) continue;
          await em.query(
            `INSERT INTO ledger_entry (account_id, exchange_id, asset, amount, kind, effective_at, recorded_at, actor, reason, correlation_id)
             VALUES ($1, $2, $3, $4, 'adjustment', $5, $5, $6, $7, $8)`,
            [opening.accountId, opening.exchangeId, asset, amount.toString(), opening.at, JSON.stringify(opening.actor), opening.reason, opening.correlationId],
          );
          adjustments.push({ asset, ledgerBefore: ledger.get(asset) ?? Decimal.ZERO, amount });
        }
      }
      const [cleared] = await em.query<[Array<{ id: string; halted_bots: string[] }>, number]>(
        `UPDATE reconciliation_discrepancy
            SET status = 'CLEARED', cleared_at = $2, cleared_by = $3, clear_reason = $4, clear_correlation_id = $5
          WHERE account_id = $1 AND status = 'OPEN'
          RETURNING id::text AS id, halted_bots`,
        [opening.accountId, opening.at, JSON.stringify(opening.actor), opening.reason, opening.correlationId],
      );
      return { opened, adjustments, cleared: cleared.map((r) => ({ id: r.id, haltedBots: r.halted_bots })) };
    });
  }

  /** The bots that have fills on an account. */
  async botsWithFills(accountId: string): Promise<string[]> {
    const rows = await this.ds.query<Array<{ bot_id: string }>>(
      'SELECT DISTINCT bot_id FROM ledger_fill WHERE account_id = $1 AND bot_id IS NOT NULL ORDER BY bot_id',
      [accountId],
    );
    return rows.map((r) => r.bot_id);
  }
}

/** Serialises the writes that depend on one account's balances (shared with DiscrepancyRepository). */
export async function lockAccount(em: EntityManager, accountId: string): Promise<void> {
  await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ledger:${accountId}`]);
}

async function insertOpening(em: EntityManager, input: OpeningInput): Promise<boolean> {
  const inserted = await em.query<Array<{ account_id: string }>>(
    `INSERT INTO ledger_account (account_id, exchange_id, opened_at, opened_by, recorded_at, correlation_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (account_id) DO NOTHING
     RETURNING account_id`,
    [input.accountId, input.exchangeId, input.asOf, JSON.stringify(input.actor), input.at, input.correlationId],
  );
  if (inserted.length === 0) return false;
  for (const { asset, total } of input.balances) {
    if (total.isZero()) continue;
    await em.query(
      `INSERT INTO ledger_entry (account_id, exchange_id, asset, amount, kind, effective_at, recorded_at, actor, reason, correlation_id)
       VALUES ($1, $2, $3, $4, 'opening', $5, $6, $7, $8, $9)`,
      [input.accountId, input.exchangeId, asset, total.toString(), input.asOf, input.at, JSON.stringify(input.actor), input.reason, input.correlationId],
    );
  }
  return true;
}

/**
 * Balances: the opening, the adjustments, and the fills executed after the opening's read time (the
 * ones before are in the venue's balances the opening was taken from).
 */
async function readAccounts(em: EntityManager, accountIds?: readonly string[]): Promise<Map<string, LedgerAccount>> {
  const rows = await em.query<Array<{ account_id: string; exchange_id: string; opened_at: Date; asset: string | null; balance: string | null }>>(
    `SELECT a.account_id, a.exchange_id, a.opened_at, e.asset,
            (sum(e.amount) FILTER (WHERE e.kind <> 'fill' OR e.effective_at > a.opened_at))::text AS balance
       FROM ledger_account a
       LEFT JOIN ledger_entry e ON e.account_id = a.account_id
      WHERE $1::text[] IS NULL OR a.account_id = ANY($1::text[])
      GROUP BY a.account_id, a.exchange_id, a.opened_at, e.asset`,
    [accountIds ? [...accountIds] : null],
  );
  const accounts = new Map<string, LedgerAccount>();
  for (const row of rows) {
    let account = accounts.get(row.account_id);
    if (!account) {
      account = { accountId: row.account_id, exchangeId: row.exchange_id, openedAt: row.opened_at, balances: new Map() };
      accounts.set(row.account_id, account);
    }
    if (row.asset !== null && row.balance !== null) account.balances.set(row.asset, Decimal.of(row.balance));
  }
  return accounts;
}
