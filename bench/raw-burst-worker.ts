/**
 * The other process of bench/bot-fleet's burst baselines (see `burstBaseline` there): the least a bot
 * step can be on this machine's NATS and PostgreSQL. For each message on `<subject>.in` it writes to
 * PostgreSQL, then publishes the message to `<subject>.out`. Nothing else: no contract check, no
 * strategy, no fence. Two ways of writing:
 *
 * - `each`: one UPDATE of one row per message, committed on its own, through a pool of 4 connections.
 * - `grouped`: the messages of one event-loop turn, or arriving while a write is in flight, in one
 *   UPDATE (one commit) for all of them — the group commit bot-service makes of a burst's steps (the
 *   same libs/platform `Batcher`, with the same limits), without anything else bot-service does.
 *
 * Started by bench/bot-fleet with fork(), arguments `<nats url> <database url> <subject> <each|grouped>`;
 * says "ready" to its parent once it listens, and stops when its parent disconnects.
 */
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { Batcher } from '@garde/platform';
import { STEP_BATCH_MAX, STEP_CONNECTIONS } from '../apps/bot-service/src/persistence/step-batches.js';

const [natsUrl, databaseUrl, subject, mode] = process.argv.slice(2) as [string, string, string, 'each' | 'grouped'];
const nc = await connect({ servers: natsUrl });
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
await pool.query('CREATE TABLE IF NOT EXISTS bench_burst_probe (id int PRIMARY KEY, v text NOT NULL)');
await pool.query("INSERT INTO bench_burst_probe SELECT g, '' FROM generate_series(0, 999) g ON CONFLICT DO NOTHING");
// The pool's connections opened before the first burst, as a service's are.
await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT 1')));

// `grouped`: the Batcher and limits of bot-service's step statements (BotRepository.rounds: as many in
// flight as its step connections, here on any of them).
const groups = new Batcher<number, void>(
  async (rows) => {
    const ids = [...new Set(rows.map((row) => row % 1000))];
    await pool.query('UPDATE bench_burst_probe p SET v = u.v FROM unnest($1::int[], $2::text[]) AS u(id, v) WHERE p.id = u.id', [ids, ids.map(String)]);
    return rows.map(() => undefined);
  },
  { maxBatch: STEP_BATCH_MAX, maxInFlight: STEP_CONNECTIONS },
);

nc.subscribe(`${subject}.in`, {
  callback: (_err, msg) => {
    const row = msg.data[0]! + 256 * msg.data[1]!;
    const written = mode === 'grouped' ? groups.add(row) : pool.query('UPDATE bench_burst_probe SET v = $2 WHERE id = $1', [row % 1000, String(row)]);
    void written.then(() => nc.publish(`${subject}.out`, msg.data)).catch((err: unknown) => console.error(`raw-burst-worker: ${String(err)}`));
  },
});
await nc.flush();
process.send!('ready');
process.on('disconnect', () => {
  void nc
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
});
