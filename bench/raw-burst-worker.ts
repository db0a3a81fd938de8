/**
 * The other process of bench/bot-fleet's burst baseline (see `burstBaseline` there): the least a bot
 * step can be on this machine's NATS and PostgreSQL. For each message on `<subject>.in` it makes one
 * write to PostgreSQL (an UPDATE of one row, committed on its own, through a pool of 4 connections) and
 * then publishes the message to `<subject>.out`. Nothing else: no contract check, no strategy, no fence.
 *
 * Started by bench/bot-fleet with fork(), arguments `<nats url> <database url> <subject>`; says "ready"
 * to its parent once it listens, and stops when its parent disconnects.
 */
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

const [natsUrl, databaseUrl, subject] = process.argv.slice(2) as [string, string, string];
const nc = await connect({ servers: natsUrl });
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
await pool.query('CREATE TABLE IF NOT EXISTS bench_burst_probe (id int PRIMARY KEY, v text NOT NULL)');
await pool.query("INSERT INTO bench_burst_probe SELECT g, '' FROM generate_series(0, 999) g ON CONFLICT DO NOTHING");
// The pool's connections opened before the first burst, as a service's are.
await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT 1')));

nc.subscribe(`${subject}.in`, {
  callback: (_err, msg) => {
    const row = msg.data[0]! + 256 * msg.data[1]!;
    void pool
      .query('UPDATE bench_burst_probe SET v = $2 WHERE id = $1', [row % 1000, String(row)])
      .then(() => nc.publish(`${subject}.out`, msg.data))
      .catch((err: unknown) => console.error(`raw-burst-worker: ${String(err)}`));
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
