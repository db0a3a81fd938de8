/**
 * bench/audit-ingest: how fast does the audit-service append events to its hash chain, how far behind
 * does it fall, and how long do an export and its offline verification of 1,000,000 events take?
 *
 * audit-service (and, for the export, the exchange-gateway whose HTTP API the console calls) in its
 * own process, on the real NATS and PostgreSQL of this machine, with a fresh database and bus namespace.
 *
 * 0. Seed (not measured): `--export-events` rows (default 1,000,000) written straight into
 *    audit.audit_event in batches, linked and hashed here with the same libs/domain functions the
 *    service uses (canonicalJson, chainHash), with the audit-service stopped; then a checkpoint of
 *    their head signed with the service's key, as its timer would have. Publishing them through the
 *    service at 5,000/s would take over three minutes of setup. So the ingest below runs on a trail that
 *    already holds a million rows (all its indexes included), as a production trail would.
 * 1. Ingest, open loop: events of real contracts (OrderAcceptedEvt, OrderFilledEvt, OrderRejectedEvt,
 *    and 1 in 100 a KillSwitchActivatedEvt) in the contracts' envelope (MessageBus.envelope), published
 *    to the AUDIT stream through JetStream (subject from the bus topology, Nats-Msg-Id = messageId) at
 *    `--rate` events/s for `--seconds`, after `--warmup` seconds of the same load. Every ~100 ms the
 *    chain head is read from PostgreSQL (max(sequence)): lag = events published - rows appended, in
 *    events, and in ms as the age of the oldest event published and not yet appended. Then the time
 *    until the backlog is drained.
 * 2. Backlog, closed: the audit-service stopped, `--backlog` events published (they wait in JetStream),
 *    the service started again: how fast it appends what waited (first append to last).
 * 3. Baseline in the same run: the same number of rows as the measured window, precomputed (hashes
 *    included), inserted into PostgreSQL 500 rows per INSERT, one statement at a time, into (a) a plain
 *    table of the same columns with only a primary key, (b) a copy of audit_event with all its indexes
 *    (no trigger, no chain lock, no NATS).
 * 4. Export and verify, the operator's path: `bin/console audit:export --from --to --format=jsonl
 *    --output=<tmp>` against the gateway (the audit-service verifies and signs the period, then the
 *    console writes it page by page through the gateway), then `bin/console audit:verify --export=<tmp>
 *    --public-key=<the service's key>` (offline). Wall time, and VmRSS of the console, gateway and
 *    audit-service processes sampled from /proc every 100 ms (start, peak, end).
 *
 *   npm run bench:audit-ingest [-- --rate=5000 --seconds=30 --warmup=3 --backlog=100000 --export-events=1000000 --batch-size=N]
 */
import { sign } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import {
  KillSwitchActivatedEvt,
  OrderAcceptedEvt,
  OrderFilledEvt,
  OrderRejectedEvt,
  busTopology,
  eventLevel,
  type Actor,
  type KillSwitchChange,
  type Order,
} from '@garde/contracts';
import { GENESIS_HASH, canonicalJson, chainHash, signedStatementBytes } from '@garde/domain';
import { JsonLogger, MessageBus } from '@garde/platform';
import { REPO_ROOT, freePort, startServiceProcess, type ServiceProcess } from '@garde/testing';
import { loadAuditConfig } from '../apps/audit-service/src/config/audit.config.js';
import { checkpointStatement } from '../apps/audit-service/src/use-cases/verify-audit-chain/checkpoint-statement.js';
import { NATS_URL, createBenchEnvironment } from './environment.js';
import { arg, argValue, percentile } from './stats.js';

const RATE = arg('rate', 5000);
const SECONDS = arg('seconds', 30);
const WARMUP = arg('warmup', 3);
/** Events left waiting in JetStream while the audit-service is down (phase 2); 0 skips it. */
const BACKLOG = arg('backlog', 100_000);
/** Rows seeded for the export and verify (phase 4); 0 skips both. */
const EXPORT_EVENTS = arg('export-events', 1_000_000);
/** The audit-service's AUDIT_BATCH_SIZE; its own default when not given. */
const BATCH_SIZE = argValue('batch-size') === undefined ? undefined : arg('batch-size', 100);
/** How long a backlog may take to drain before the bench says it did not. */
const DRAIN_TIMEOUT_MS = 180_000;
const SAMPLE_MS = 100;
/** Rows per INSERT of the baseline (as the brief of issue 6 says) and of the seed. */
const BASELINE_ROWS_PER_INSERT = 500;
const SEED_ROWS_PER_INSERT = 5000;

const operator: Actor = { id: 'bench', kind: 'operator', role: 'admin' };
const encoder = new TextEncoder();

/** OrderRejectedEvt has OrderAcceptedEvt's type. */
type BenchEvent = typeof OrderAcceptedEvt | typeof OrderFilledEvt | typeof KillSwitchActivatedEvt;

/** The i-th event of the load: three order events of a bot in turn, and 1 in 100 a bot's kill switch. */
function eventOf(i: number, at: string): { def: BenchEvent; payload: unknown } {
  const botId = `bot-${i % 100}`;
  const order = (state: Order['state'], lastError: string | null): Order => ({
    clientOrderId: `bench-${i}`,
    venueOrderId: `v-${i}`,
    accountId: 'bench-account',
    exchangeId: 'binance',
    botId,
    symbol: 'BTC/USDT',
    side: i % 2 ? 'buy' : 'sell',
    type: 'limit',
    quantity: '0.001',
    price: `${60000 + (i % 1000)}.5`,
    state,
    filled: state === 'FILLED' ? '0.001' : '0',
    lastError,
    createdAt: at,
    updatedAt: at,
  });
  if (i % 100 === 99) {
    const change: KillSwitchChange = {
      current: { scope: `bot:${botId}`, state: 'HALTED', reason: 'bench: drawdown limit reached', actor: operator, since: at, version: i },
      previousState: 'ACTIVE',
      changed: true,
    };
    return { def: KillSwitchActivatedEvt, payload: change };
  }
  switch (i % 3) {
    case 0:
      return { def: OrderAcceptedEvt, payload: order('OPEN', null) };
    case 1:
      return {
        def: OrderFilledEvt,
        payload: {
          order: order('FILLED', null),
          fill: { tradeId: `t-${i}`, price: `${60000 + (i % 1000)}.5`, quantity: '0.001', fee: '0.06', feeCurrency: 'USDT', at },
        },
      };
    default:
      return { def: OrderRejectedEvt, payload: order('REJECTED', 'Account has insufficient balance for requested action.') };
  }
}

interface LagSample {
  events: number;
  ms: number;
}

async function main(): Promise<void> {
  const bench = await createBenchEnvironment();
  const { namespace } = bench;
  // The audit-service's AUDIT_BATCH_SIZE (its default when not given).
  const env = BATCH_SIZE === undefined ? bench.env : { ...bench.env, AUDIT_BATCH_SIZE: String(BATCH_SIZE) };
  const nc = await connect({ servers: NATS_URL });
  const db = new pg.Client({ connectionString: bench.databaseUrl });
  const sampler = new pg.Client({ connectionString: bench.databaseUrl });
  const tmp = mkdtempSync(path.join(tmpdir(), 'garde-bench-audit-'));
  let audit: ServiceProcess | undefined;
  let gateway: ServiceProcess | undefined;
  const auditPort = await freePort();
  const startAudit = async () => (audit = await startServiceProcess('audit-service', env, auditPort, 'bench'));
  const running = (): ServiceProcess => {
    if (!audit) throw new Error('the audit-service is not running');
    return audit;
  };
  const report: string[] = [];
  const out = (line: string) => {
    report.push(line);
    console.log(line);
  };
  try {
    await db.connect();
    await sampler.connect();
    // Its migrations create the schema; the AUDIT stream is created by any service at start-up.
    await startAudit();
    const bus = new MessageBus(nc, busTopology(namespace), 'exchange-gateway/bench', new JsonLogger('bench', 'error').child('bus'));
    const js = jetstream(nc);
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    for (const i of [0, 1, 2, 99]) {
      const { def, payload } = eventOf(i, new Date().toISOString());
      def.payload.parse(payload); // every kind of event the bench sends keeps its contract
    }

    // 0. Seed, not measured: the audit-service stopped, so that nothing else extends the chain meanwhile.
    const seedFrom = new Date(Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000);
    let seeded = 0;
    if (EXPORT_EVENTS > 0) {
      await running().stop();
      process.stdout.write(`seeding ${EXPORT_EVENTS} chained rows straight into audit.audit_event… `);
      const started = clock();
      seeded = await seed(db, EXPORT_EVENTS, seedFrom, bus);
      await signCheckpoint(db, env, seeded);
      console.log(`done in ${((clock() - started) / 1000).toFixed(1)} s`);
      await startAudit();
    }
    const head = async () =>
      Number((await sampler.query<{ head: string }>('SELECT coalesce(max(sequence), 0)::text AS head FROM audit.audit_event')).rows[0]!.head);

    // Every event the bench publishes, in order: the n-th is appended as sequence seeded + n + 1.
    const capacity = Math.ceil(RATE * (SECONDS + WARMUP) * 1.2) + BACKLOG + 1000;
    const sentAt = new Float64Array(capacity);
    let sent = 0;
    let acked = 0;
    let publishErrors = 0;
    const publishOne = () => {
      const n = sent++;
      const { def, payload } = eventOf(n, new Date().toISOString());
      const envelope = bus.envelope(def.type, def.schemaVersion, payload, { correlationId: `story-${Math.floor(n / 3)}` });
      sentAt[n] = clock();
      return js.publish(bus.topology.subject(def), encoder.encode(JSON.stringify(envelope)), { msgID: envelope.messageId }).then(
        () => {
          acked++;
        },
        (err: unknown) => {
          publishErrors++;
          if (publishErrors <= 3) console.error(`publish failed: ${String(err)}`);
        },
      );
    };
    const appendedOf = (h: number) => h - seeded;
    const lagAt = (appended: number, now: number): LagSample => ({
      events: sent - appended,
      ms: appended < sent ? now - sentAt[appended]! : 0,
    });
    const batchSize = loadAuditConfig(env).AUDIT_BATCH_SIZE;
    /**
     * Waits until every event sent is appended: when all but one consumer batch were (`nearlyMs`), and
     * all (`allMs`, undefined after the timeout). With `nearly`, returns at the first.
     */
    const drain = async (nearly = false): Promise<{ nearlyMs: number | undefined; allMs: number | undefined; left: number }> => {
      const from = clock();
      let nearlyMs: number | undefined;
      let left = sent;
      while (clock() - from < DRAIN_TIMEOUT_MS) {
        left = sent - appendedOf(await head());
        if (left <= batchSize) nearlyMs ??= clock() - from;
        if (left <= 0) return { nearlyMs, allMs: clock() - from, left };
        if (nearly && nearlyMs !== undefined) break;
        await sleep(SAMPLE_MS / 2);
      }
      return { nearlyMs, allMs: undefined, left };
    };
    /** Open loop at RATE for `seconds`, the lag sampled every SAMPLE_MS. */
    const openLoop = async (seconds: number) => {
      const samples: LagSample[] = [];
      const firstEvent = sent;
      const start = clock();
      const headBefore = await head();
      let sampling = false;
      let lastSample = start;
      const endMs = seconds * 1000;
      for (;;) {
        const now = clock() - start;
        if (now >= endMs) break;
        while ((sent - firstEvent) * (1000 / RATE) <= now) void publishOne();
        if (!sampling && clock() - lastSample >= SAMPLE_MS) {
          sampling = true;
          lastSample = clock();
          void head().then(
            (h) => {
              samples.push(lagAt(appendedOf(h), clock()));
              sampling = false;
            },
            () => (sampling = false),
          );
        }
        await sleep(1);
      }
      const elapsed = clock() - start;
      const headAfter = await head();
      return { samples, elapsed, sentInWindow: sent - firstEvent, appendedInWindow: headAfter - headBefore };
    };

    const loadBefore = loadavg()[0]!;
    console.log(`ingest: open loop at ${RATE} events/s, ${SECONDS} s after ${WARMUP} s warm-up…`);
    if (WARMUP > 0) {
      await openLoop(WARMUP);
      // Not to the last event: a batch the consumer holds goes out with the next events (see the notes in BENCHMARKS.md).
      if ((await drain(true)).nearlyMs === undefined) throw new Error('the warm-up backlog did not drain');
    }
    const window = await openLoop(SECONDS);
    const drainMs = await drain();
    const metrics = await (await fetch(`${running().url}/metrics`)).text();

    // 2. Backlog: the service down while events pile up in JetStream, then started again.
    let backlog: { events: number; appendMs: number; startMs: number; perSecond: number } | undefined;
    if (BACKLOG > 0) {
      await running().stop();
      console.log(`backlog: ${BACKLOG} events published while the audit-service is down…`);
      const firstEvent = sent;
      while (sent - firstEvent < BACKLOG) {
        const batch: Promise<void>[] = [];
        for (let k = 0; k < 1000 && sent - firstEvent < BACKLOG; k++) batch.push(publishOne());
        await Promise.all(batch);
      }
      const before = await head();
      const startedAt = clock();
      await startAudit();
      let firstMove: number | undefined;
      let done: number | undefined;
      while (clock() - startedAt < DRAIN_TIMEOUT_MS) {
        const h = await head();
        if (firstMove === undefined && h > before) firstMove = clock();
        if (appendedOf(h) >= sent) {
          done = clock();
          break;
        }
        await sleep(SAMPLE_MS / 2);
      }
      if (done === undefined || firstMove === undefined) throw new Error(`the backlog of ${BACKLOG} events did not drain within ${DRAIN_TIMEOUT_MS / 1000} s`);
      backlog = { events: BACKLOG, appendMs: done - firstMove, startMs: done - startedAt, perSecond: (1000 * BACKLOG) / (done - firstMove) };
    }

    // 3. Raw PostgreSQL baseline: the window's number of rows, precomputed, 500 per INSERT.
    const baselineRows = Math.max(window.appendedInWindow, 1000);
    const plainPerSecond = await baseline(db, 'public.bench_raw_plain', baselineRows, false, bus);
    const indexedPerSecond = await baseline(db, 'public.bench_raw_indexed', baselineRows, true, bus);

    // 4. Export and verify through the console, against the gateway.
    let exported: { wallMs: number; sealMs: number | undefined; bytes: number; rss: Map<string, RssTrace>; stdout: string } | undefined;
    let verified: { wallMs: number; rss: RssTrace; ok: boolean; stdout: string } | undefined;
    type Measured = Awaited<ReturnType<typeof runConsoleMeasured>>;
    let tenth: { rows: number; export: Measured; verify: Measured } | undefined;
    if (seeded > 0) {
      gateway = await startServiceProcess('exchange-gateway', env, await freePort(), 'bench');
      const consoleEnv = { GARDE_API_URL: gateway.url, GARDE_TOKEN: bench.token };
      const signer = (await (await fetch(`${gateway.url}/api/v1/audit/signer`, { headers: { authorization: `Bearer ${bench.token}` } })).json()) as {
        publicKey: string;
      };
      // First a tenth of the rows, the same way: the memory of the full export is read beside it.
      const tenthFile = path.join(tmp, 'audit-export-tenth.jsonl');
      const tenthRows = Math.floor(seeded / 10);
      console.log(`export: a tenth first, ${tenthRows} events…`);
      const tenthRun = await runConsoleMeasured(
        ['audit:export', `--from=${seedFrom.toISOString()}`, `--to=${new Date(seedFrom.getTime() + tenthRows).toISOString()}`, `--output=${tenthFile}`],
        consoleEnv,
        { gateway: gateway.child.pid!, 'audit-service': running().child.pid! },
      );
      if (tenthRun.code !== 0) throw new Error(`audit:export failed (${tenthRun.code}): ${tenthRun.stderr}${tenthRun.stdout}`);
      const tenthCheck = await runConsoleMeasured(['audit:verify', `--export=${tenthFile}`, `--public-key=${signer.publicKey}`], {}, {});
      tenth = { rows: tenthRows, export: tenthRun, verify: tenthCheck };
      rmSync(tenthFile);
      const file = path.join(tmp, 'audit-export.jsonl');
      const to = new Date(seedFrom.getTime() + seeded);
      console.log(`export: bin/console audit:export of ${seeded} events (${seedFrom.toISOString()} to ${to.toISOString()})…`);
      const run = await runConsoleMeasured(
        ['audit:export', `--from=${seedFrom.toISOString()}`, `--to=${to.toISOString()}`, '--format=jsonl', `--output=${file}`],
        consoleEnv,
        { gateway: gateway.child.pid!, 'audit-service': running().child.pid! },
        /signed by key/,
      );
      if (run.code !== 0) throw new Error(`audit:export failed (${run.code}): ${run.stderr}${run.stdout}`);
      exported = { wallMs: run.wallMs, sealMs: run.markMs, bytes: statSync(file).size, rss: run.rss, stdout: run.stdout.trim() };
      console.log('verify: bin/console audit:verify --export (offline)…');
      const check = await runConsoleMeasured(['audit:verify', `--export=${file}`, `--public-key=${signer.publicKey}`], {}, {});
      verified = { wallMs: check.wallMs, rss: check.rss.get('console')!, ok: check.code === 0, stdout: check.stdout.trim() };
      const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8')) as { rows: number };
      if (manifest.rows !== seeded) throw new Error(`the manifest says ${manifest.rows} rows, ${seeded} were seeded`);
    }

    // The figures.
    const lagEvents = window.samples.map((s) => s.events);
    const lagMs = window.samples.map((s) => s.ms);
    console.log('');
    out(
      `bench/audit-ingest — audit-service in its own process, real NATS + PostgreSQL; ${seeded} rows in the trail before the ingest; 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
    );
    out(`ingest, open loop at ${RATE} events/s for ${SECONDS} s (after ${WARMUP} s warm-up), batches of up to ${batchSize}`);
    out(
      `  published                 ${window.sentInWindow} events, ${((1000 * window.sentInWindow) / window.elapsed).toFixed(0)}/s offered (${acked} acked by JetStream in all, ${publishErrors} errors)`,
    );
    out(
      `  appended in the window    ${window.appendedInWindow} rows, ${((1000 * window.appendedInWindow) / window.elapsed).toFixed(0)} events/s sustained   target >= 5000/s`,
    );
    out(
      `  lag (${window.samples.length} samples, ~${SAMPLE_MS} ms)     events p50 ${percentile(lagEvents, 50)}  p99 ${percentile(lagEvents, 99)}  max ${Math.max(...lagEvents)};  ms p50 ${percentile(lagMs, 50).toFixed(0)}  p99 ${percentile(lagMs, 99).toFixed(0)}  max ${Math.max(...lagMs).toFixed(0)}   target < 1000 ms`,
    );
    const nearly = drainMs.nearlyMs === undefined ? 'never' : `${drainMs.nearlyMs.toFixed(0)} ms`;
    out(
      `  backlog after the window  all but <= ${batchSize} events appended ${nearly} after the last publish; all ${drainMs.allMs === undefined ? `NOT within ${DRAIN_TIMEOUT_MS / 1000} s (${drainMs.left} left)` : `after ${drainMs.allMs.toFixed(0)} ms`}`,
    );
    out(`  ${appendDelayLine(metrics)}`);
    if (backlog) {
      out(
        `backlog: ${backlog.events} events waiting in JetStream, audit-service restarted: ${backlog.perSecond.toFixed(0)} events/s appended (first append to last, ${(backlog.appendMs / 1000).toFixed(1)} s; ${(backlog.startMs / 1000).toFixed(1)} s from the process start)`,
      );
    }
    out(`baseline: raw PostgreSQL, ${baselineRows} precomputed rows, ${BASELINE_ROWS_PER_INSERT} per INSERT, one statement at a time`);
    out(`  plain table, same columns, primary key only              ${plainPerSecond.toFixed(0)} rows/s`);
    out(`  copy of audit_event with all its indexes (no trigger)    ${indexedPerSecond.toFixed(0)} rows/s`);
    if (exported && verified) {
      out(
        `export of ${seeded} events (rows seeded straight into PostgreSQL with the service's chain functions, not published), bin/console audit:export --format=jsonl through the gateway`,
      );
      out(
        `  wall time                 ${(exported.wallMs / 1000).toFixed(1)} s   target <= 60 s   (manifest sealed by the audit-service after ${exported.sealMs === undefined ? '?' : (exported.sealMs / 1000).toFixed(1)} s; file ${(exported.bytes / 1e6).toFixed(0)} MB)`,
      );
      for (const [name, trace] of exported.rss) out(`  ${`RSS ${name}`.padEnd(26)}${rssLine(trace)}`);
      if (tenth) {
        out(`  a tenth of it (${tenth.rows} events) just before, for the memory: ${(tenth.export.wallMs / 1000).toFixed(1)} s`);
        for (const [name, trace] of tenth.export.rss) out(`  ${`  RSS ${name}`.padEnd(26)}${rssLine(trace)}`);
      }
      out(`verify of the export, bin/console audit:verify --export (offline): ${verified.ok ? 'valid' : 'INVALID'}`);
      out(`  wall time                 ${(verified.wallMs / 1000).toFixed(1)} s   target <= 60 s`);
      out(`  ${'RSS console'.padEnd(26)}${rssLine(verified.rss)}`);
      if (tenth)
        out(
          `  a tenth of it: ${(tenth.verify.wallMs / 1000).toFixed(1)} s, ${tenth.verify.code === 0 ? 'valid' : 'INVALID'}, RSS console ${rssLine(tenth.verify.rss.get('console')!)}`,
        );
      if (!verified.ok) out(`  ${verified.stdout}`);
    }
  } finally {
    await gateway?.stop();
    await audit?.stop();
    await db.end().catch(() => undefined);
    await sampler.end().catch(() => undefined);
    await bench.dispose(nc);
    await nc.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));

/** A row of audit_event, linked and hashed as AppendAuditEvents does it. */
interface ChainedRow {
  s: number;
  l: string;
  a: string;
  c: string;
  p: string;
  h: string;
}

/** `count` events of eventOf in the contracts' envelope, chained after `after`; one recorded per ms from `from`. */
function* chained(count: number, from: Date, bus: MessageBus, after = { sequence: 0, hash: GENESIS_HASH }): Generator<ChainedRow> {
  let prevHash = after.hash;
  for (let i = 0; i < count; i++) {
    const at = new Date(from.getTime() + i).toISOString();
    const { def, payload } = eventOf(i, at);
    const envelope = { ...bus.envelope(def.type, def.schemaVersion, payload, { correlationId: `story-${Math.floor(i / 3)}` }), occurredAt: at };
    const canonical = canonicalJson(envelope);
    const hash = chainHash(prevHash, canonical);
    yield { s: after.sequence + i + 1, l: eventLevel(def.type), a: at, c: canonical, p: prevHash, h: hash };
    prevHash = hash;
  }
}

/** The columns of audit_event read by PostgreSQL from the canonical text, as the service stores them. */
const INSERT_FROM_JSON = (
  table: string,
) => `INSERT INTO ${table} (sequence, message_id, type, level, occurred_at, recorded_at, producer, actor_id, correlation_id, envelope, canonical, prev_hash, hash)
  SELECT r.s, (j ->> 'messageId')::uuid, j ->> 'type', r.l, (j ->> 'occurredAt')::timestamptz, r.a, j ->> 'producer', j -> 'actor' ->> 'id', j ->> 'correlationId', j, r.c, r.p, r.h
    FROM jsonb_to_recordset($1::jsonb) AS r(s bigint, l text, a timestamptz, c text, p text, h text)
    CROSS JOIN LATERAL (SELECT r.c::jsonb AS j OFFSET 0) x`;

/** Seeds an empty trail with `count` chained rows, holding the chain's lock per batch; returns the head sequence. */
async function seed(db: pg.Client, count: number, from: Date, bus: MessageBus): Promise<number> {
  let batch: ChainedRow[] = [];
  const flush = async () => {
    await db.query('BEGIN');
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['garde-audit-chain']);
    await db.query(INSERT_FROM_JSON('audit.audit_event'), [JSON.stringify(batch)]);
    await db.query('COMMIT');
    batch = [];
  };
  let last = 0;
  for (const row of chained(count, from, bus)) {
    batch.push(row);
    last = row.s;
    if (batch.length === SEED_ROWS_PER_INSERT) await flush();
  }
  if (batch.length) await flush();
  return last;
}

/** Signs the head as the audit-service's checkpoint timer would (its key, its statement). */
async function signCheckpoint(db: pg.Client, env: Record<string, string>, sequence: number): Promise<void> {
  const { privateKey, publicKey, keyId } = loadAuditConfig(env).AUDIT_SIGNING_KEY;
  const { rows } = await db.query<{ hash: string }>('SELECT hash FROM audit.audit_event WHERE sequence = $1', [sequence]);
  const signedAt = new Date();
  const statement = checkpointStatement({ sequence, head: rows[0]!.hash, signedAt, keyId });
  const signature = sign(null, signedStatementBytes('garde-audit-checkpoint-v1', statement), privateKey).toString('base64');
  await db.query('INSERT INTO audit.audit_checkpoint (sequence, head, signed_at, key_id, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)', [
    sequence,
    rows[0]!.hash,
    signedAt,
    keyId,
    publicKey,
    signature,
  ]);
}

/**
 * Inserts `count` precomputed rows into a new table, BASELINE_ROWS_PER_INSERT per statement with 13
 * parameters a row (the audit-service's own INSERT), one statement at a time; rows per second.
 */
async function baseline(db: pg.Client, table: string, count: number, withIndexes: boolean, bus: MessageBus): Promise<number> {
  await db.query(
    withIndexes
      ? `CREATE TABLE ${table} (LIKE audit.audit_event INCLUDING ALL)`
      : `CREATE TABLE ${table} (sequence bigint PRIMARY KEY, message_id uuid NOT NULL, type text NOT NULL, level text NOT NULL, occurred_at timestamptz NOT NULL,
         recorded_at timestamptz NOT NULL, producer text NOT NULL, actor_id text, correlation_id text NOT NULL, envelope jsonb NOT NULL, canonical text NOT NULL,
         prev_hash text NOT NULL, hash text NOT NULL)`,
  );
  const statements: unknown[][] = [];
  let params: unknown[] = [];
  for (const row of chained(count, new Date(), bus)) {
    const env = JSON.parse(row.c) as { messageId: string; type: string; occurredAt: string; producer: string; actor?: { id: string }; correlationId: string };
    params.push(
      row.s,
      env.messageId,
      env.type,
      row.l,
      env.occurredAt,
      row.a,
      env.producer,
      env.actor?.id ?? null,
      env.correlationId,
      row.c,
      row.c,
      row.p,
      row.h,
    );
    if (params.length === 13 * BASELINE_ROWS_PER_INSERT) {
      statements.push(params);
      params = [];
    }
  }
  if (params.length) statements.push(params);
  const sql = (p: unknown[]) =>
    `INSERT INTO ${table} (sequence, message_id, type, level, occurred_at, recorded_at, producer, actor_id, correlation_id, envelope, canonical, prev_hash, hash) VALUES ${Array.from(
      { length: p.length / 13 },
      (_, r) => `(${Array.from({ length: 13 }, (_v, c) => `$${r * 13 + c + 1}`).join(', ')})`,
    ).join(', ')}`;
  const full = sql(statements[0]!);
  const started = performance.now();
  for (const p of statements) await db.query(p.length === statements[0]!.length ? full : sql(p), p);
  const perSecond = (1000 * count) / (performance.now() - started);
  await db.query(`DROP TABLE ${table}`);
  return perSecond;
}

/** VmRSS of one process over a run, MB. */
interface RssTrace {
  start: number;
  peak: number;
  end: number;
}

function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined; // gone
  }
}

const rssLine = (t: RssTrace) => `start ${t.start.toFixed(0)} MB, peak ${t.peak.toFixed(0)} MB, end ${t.end.toFixed(0)} MB`;

/**
 * Runs bin/console as an operator does and times it; samples VmRSS of its process (bash execs node: same
 * pid) and of `others` every SAMPLE_MS. `mark`: the time of the first stderr line matching it.
 */
function runConsoleMeasured(
  args: string[],
  env: Record<string, string>,
  others: Record<string, number>,
  mark?: RegExp,
): Promise<{ code: number; wallMs: number; markMs: number | undefined; rss: Map<string, RssTrace>; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(path.join(REPO_ROOT, 'bin', 'console'), args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const pids: Record<string, number> = { console: child.pid!, ...others };
    const rss = new Map<string, RssTrace>();
    const sample = () => {
      for (const [name, pid] of Object.entries(pids)) {
        const v = rssOf(pid);
        if (v === undefined) continue;
        const t = rss.get(name);
        if (t) {
          t.peak = Math.max(t.peak, v);
          t.end = v;
        } else rss.set(name, { start: v, peak: v, end: v });
      }
    };
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    let stdout = '';
    let stderr = '';
    let markMs: number | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (mark && markMs === undefined && mark.test(stderr)) markMs = performance.now() - started;
    });
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code: code ?? -1, wallMs: performance.now() - started, markMs, rss, stdout, stderr });
    });
  });
}

/** A sample of the service's metrics text (series with their labels; the first whose labels hold `labels`). */
function metricValue(metrics: string, name: string, labels = ''): number {
  for (const m of metrics.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) if ((m[1] ?? '').includes(labels)) return Number(m[2]);
  return NaN;
}

/** The service's own histogram of occurredAt → appended, cumulative since its last start, and its redeliveries. */
function appendDelayLine(metrics: string): string {
  const name = 'garde_audit_append_delay_seconds';
  const count = metricValue(metrics, `${name}_count`);
  const under = (le: string) => `${((100 * metricValue(metrics, `${name}_bucket`, `le="${le}"`)) / count).toFixed(1)}% <= ${Number(le) * 1000} ms`;
  return `audit-service: occurredAt -> appended (its histogram) n=${count}  mean ${((1000 * metricValue(metrics, `${name}_sum`)) / count).toFixed(1)} ms  (${['0.1', '0.5', '1', '5'].map(under).join(', ')}); redeliveries ${metricValue(metrics, 'garde_audit_redeliveries_total')}`;
}

await main();
