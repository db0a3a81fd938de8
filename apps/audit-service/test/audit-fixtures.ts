import { randomUUID, sign } from 'node:crypto';
import { BotStateChangedEvt, OrderAcceptedEvt, OrderFilledEvt, OrderRejectedEvt, eventLevel } from '@garde/contracts';
import { GENESIS_HASH, canonicalJson, chainHash, signedStatementBytes } from '@garde/domain';
import type { TestSandbox } from '@garde/testing';
import { loadAuditConfig } from '../src/config/audit.config.js';

/** Rows per INSERT of bulkAppend. */
const CHUNK = 10_000;

export interface BulkOptions {
  /** recorded_at of the first row; each next row STEP_MS later. */
  recordedFrom: Date;
  stepMs?: number;
  /** Bots the events are spread over (`bot-0` …). */
  bots?: number;
  /** Makes the envelope of the i-th row (default: bot and order events about `bot-<i % bots>`). */
  envelope?: (i: number, occurredAt: string) => Record<string, unknown>;
}

/**
 * A plausible event of the trail: a bot's state change, its order accepted, filled, or a manual order
 * rejected. Keys are written in sorted order at every level, so JSON.stringify gives its canonical text.
 */
export function sampleEnvelope(i: number, occurredAt: string, bots = 50): Record<string, unknown> {
  // Stories of four events (a bot's state change, its order accepted then filled, a manual order rejected).
  const botId = `bot-${Math.floor(i / 4) % bots}`;
  const order = (clientOrderId: string, bot: string | null, state: string) => ({
    accountId: 'acc-1',
    botId: bot,
    clientOrderId,
    exchangeId: 'binance',
    filled: state === 'FILLED' ? '0.001' : '0',
    lastError: state === 'REJECTED' ? 'Account has insufficient balance for requested action.' : null,
    price: `${60000 + (i % 1000)}.5`,
    quantity: '0.001',
    side: i % 3 ? 'buy' : 'sell',
    state,
    symbol: 'BTC/USDT',
    type: 'limit',
    venueOrderId: `v-${i}`,
  });
  const envelope = (type: string, producer: string, payload: unknown, actor?: unknown) => ({
    ...(actor ? { actor } : {}),
    causationId: null,
    correlationId: `story-${Math.floor(i / 4)}`,
    messageId: randomUUID(),
    occurredAt,
    payload,
    producer,
    schemaVersion: 1,
    type,
  });
  switch (i % 4) {
    case 0:
      return envelope(BotStateChangedEvt.type, 'bot-service/pod-1', { botId, from: 'RUNNING', reason: `drill ${i}`, to: 'PAUSED' });
    case 1:
      return envelope(OrderAcceptedEvt.type, 'exchange-gateway/pod-1', order(`o-${i}`, botId, 'OPEN'));
    case 2:
      return envelope(OrderFilledEvt.type, 'exchange-gateway/pod-1', {
        fill: { at: occurredAt, fee: '0.06', feeCurrency: 'USDT', price: '60000.5', quantity: '0.001', tradeId: `t-${i}` },
        order: order(`o-${i - 1}`, botId, 'FILLED'),
      });
    default:
      return envelope(OrderRejectedEvt.type, 'exchange-gateway/pod-1', order(`manual-${i}`, null, 'REJECTED'), {
        id: 'alice',
        kind: 'operator',
        role: 'operator',
      });
  }
}

/**
 * Appends `count` linked rows to the chain straight in SQL (the chain computed here, as the service
 * would): for tests whose point is what is done with a large trail, not the consumer.
 */
export async function bulkAppend(sandbox: TestSandbox, count: number, opts: BulkOptions): Promise<{ first: number; last: number }> {
  const [head] = await sandbox.sql<{ sequence: number; hash: string }>(
    'SELECT sequence::int AS sequence, hash FROM audit.audit_event ORDER BY sequence DESC LIMIT 1',
  );
  let sequence = head?.sequence ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const first = sequence + 1;
  const step = opts.stepMs ?? 1;
  for (let done = 0; done < count; done += CHUNK) {
    const batch: Array<{ s: number; l: string; a: string; c: string; p: string; h: string }> = [];
    for (let i = done; i < Math.min(count, done + CHUNK); i++) {
      const at = new Date(opts.recordedFrom.getTime() + i * step).toISOString();
      const env = opts.envelope ? opts.envelope(i, at) : sampleEnvelope(i, at, opts.bots);
      // sampleEnvelope writes its keys sorted, so JSON.stringify is canonical (checked on the first rows).
      const canonical = opts.envelope || i < 8 ? canonicalJson(env) : JSON.stringify(env);
      if (!opts.envelope && i < 8 && canonical !== JSON.stringify(env)) throw new Error('sampleEnvelope must write its keys in sorted order');
      const hash = chainHash(prevHash, canonical);
      sequence += 1;
      batch.push({ s: sequence, l: eventLevel(String(env.type)), a: at, c: canonical, p: prevHash, h: hash });
      prevHash = hash;
    }
    // One JSON parameter, the columns read from the canonical text by PostgreSQL (as the service stores them).
    await sandbox.sql(
      `INSERT INTO audit.audit_event (sequence, message_id, type, level, occurred_at, recorded_at, producer, actor_id, correlation_id, envelope, canonical, prev_hash, hash)
       SELECT r.s, (j ->> 'messageId')::uuid, j ->> 'type', r.l, (j ->> 'occurredAt')::timestamptz, r.a, j ->> 'producer', j -> 'actor' ->> 'id', j ->> 'correlationId', j, r.c, r.p, r.h
         FROM jsonb_to_recordset($1::jsonb) AS r(s bigint, l text, a timestamptz, c text, p text, h text)
         CROSS JOIN LATERAL (SELECT r.c::jsonb AS j OFFSET 0) x`,
      [JSON.stringify(batch)],
    );
  }
  return { first, last: sequence };
}

/** Signs and stores a checkpoint of row `sequence` as the audit-service of this environment would (for a chain made by bulkAppend). */
export async function signCheckpoint(sandbox: TestSandbox, env: Record<string, string>, sequence: number, signedAt: Date): Promise<void> {
  const { privateKey, publicKey, keyId } = loadAuditConfig(env).AUDIT_SIGNING_KEY;
  const [row] = await sandbox.sql<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = $1', [sequence]);
  const statement = { sequence, head: row!.hash, signedAt: signedAt.toISOString(), keyId };
  const signature = sign(null, signedStatementBytes('garde-audit-checkpoint-v1', statement), privateKey).toString('base64');
  await sandbox.sql('INSERT INTO audit.audit_checkpoint (sequence, head, signed_at, key_id, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)', [
    sequence,
    row!.hash,
    signedAt,
    keyId,
    publicKey,
    signature,
  ]);
}

/** Runs SQL as a superuser who disables the table's triggers first: the only way to change a row behind the service's back. */
export async function asSuperuser(sandbox: TestSandbox, statement: string, table = 'audit_event'): Promise<void> {
  await sandbox.sql(`ALTER TABLE audit.${table} DISABLE TRIGGER USER`);
  try {
    await sandbox.sql(statement);
  } finally {
    await sandbox.sql(`ALTER TABLE audit.${table} ENABLE TRIGGER USER`);
  }
}
