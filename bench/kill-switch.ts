/**
 * bench/kill-switch: how fast does one kill switch stop everything?
 *
 * Every service in its own process (as deployed) on the real NATS and PostgreSQL of this machine,
 * 1,000 bots RUNNING in bot-service. For each of N activations of the global scope through the
 * operators' HTTP API, measured from the moment the request is sent:
 *   (a) the gateway refusing an order (KILL_SWITCH_ACTIVE), probed back-to-back over NATS as a bot would;
 *   (b) the last of the 1,000 bots HALTED and persisted, as a PostgreSQL reader sees it (polled every ~5 ms).
 * Between activations the switch is deactivated through the API and the bots set back to RUNNING
 * directly in the database (the reset is not what is measured).
 * The gateway has no exchange account here, on purpose: the probe orders stop at the venue step without
 * reaching a venue, and the bots place no order (1,000 trading bots would make each activation a measure
 * of cancelling their orders). bot:create refuses a bot whose exchange has no account, so the bots are
 * written into bots.bot as CREATED (the seeding is not what is measured either), then started through
 * bot-service.
 * Baselines measured in the same run: a raw NATS request/reply round trip and a raw PostgreSQL commit; and
 * what the measurement itself includes: a probe's round trip while the switch is off (a refusal is seen
 * at best one such round trip after the gateway enforces the switch) and an HTTP round trip to the
 * gateway (the API's hop before risk-service).
 *
 *   npm run bench:kill-switch [-- --bots=1000 --activations=100 --warmup=2 --verbose --via-nats --profile]
 * `--profile` writes the services' CPU profiles under .garde/profiles/kill-switch-<run>/.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { BotStartCmd, KillSwitchActivateCmd, OrderSubmitCmd, busTopology, type Actor } from '@garde/contracts';
import { JsonLogger, MessageBus } from '@garde/platform';
import { REPO_ROOT, freePort, startServiceProcess, testOrder, type ServiceProcess } from '@garde/testing';
import { NATS_URL, createBenchEnvironment } from './environment.js';
import { arg, histogramLine, ms, summary } from './stats.js';

const BOTS = arg('bots', 1000);
/** The issue asks for at least 30; p99 of 30 samples (nearest rank) is their maximum, of 100 it is a percentile. */
const ACTIVATIONS = arg('activations', 100);
/** Activations run first and not counted: the first ones pay for JIT compilation and cold connections. */
const WARMUP = arg('warmup', 2);
const VERBOSE = process.argv.includes('--verbose');
/** Send the activation to risk-service over NATS, as an automatic trigger would, instead of through the HTTP API. */
const VIA_NATS = process.argv.includes('--via-nats');
const PROFILE = process.argv.includes('--profile');

const operator: Actor = { id: 'bench', kind: 'operator', role: 'admin' };

async function main(): Promise<void> {
  const bench = await createBenchEnvironment();
  const { env, namespace, token } = bench;

  const services: ServiceProcess[] = [];
  const nc = await connect({ servers: NATS_URL });
  const db = new pg.Client({ connectionString: bench.databaseUrl });
  try {
    for (const name of ['risk-service', 'bot-service', 'audit-service', 'exchange-gateway']) {
      const profileDir = path.join(REPO_ROOT, '.garde', 'profiles', `kill-switch-${bench.suffix}`, name);
      if (PROFILE) mkdirSync(profileDir, { recursive: true });
      services.push(
        await startServiceProcess(name, env, await freePort(), 'bench', PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
      );
    }
    const apiUrl = services.at(-1)!.url;
    await db.connect();
    const bus = new MessageBus(nc, busTopology(namespace), 'bench', new JsonLogger('bench', 'error').child('bus'));

    process.stdout.write(`creating and starting ${BOTS} bots… `);
    await db.query(
      `INSERT INTO bots.bot (id, name, strategy, parameters, exchange_id, symbol, state, state_reason, state_actor, state_since, created_at, version)
       SELECT 'bench-' || g, 'bench-' || g, 'grid', $1, CASE WHEN g % 2 = 1 THEN 'kraken' ELSE 'binance' END, 'BTC/USDT', 'CREATED', 'seeded by the bench', 'bench', now(), now(), 1
       FROM generate_series(0, $2 - 1) g`,
      [JSON.stringify({ lower: '50000', upper: '70000', levels: 10, orderSize: '0.001' }), BOTS],
    );
    for (let i = 0; i < BOTS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, BOTS - i) }, async (_, j) => {
          const id = `bench-${i + j}`;
          const started = await bus.request(BotStartCmd, { botId: id, reason: 'bench' }, { actor: operator }, 10_000);
          if (!started.ok) throw new Error(`start ${id}: ${started.error.message}`);
        }),
      );
    }
    console.log('done');

    // node:http rather than fetch: under the load of the probes, fetch alone added ~1 ms (median) before
    // the request left this process.
    const agent = new http.Agent({ keepAlive: true });
    const api = (path: string, body: unknown) =>
      new Promise<void>((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request(
          `${apiUrl}${path}`,
          {
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    const probeOrder = async () => {
      const reply = await bus.request(OrderSubmitCmd, testOrder({ botId: 'bench-1', exchangeId: 'kraken' }), {}, 5000);
      return reply.ok ? 'ACCEPTED' : reply.error.code;
    };

    // What the measurement includes, measured before the activations (switch off, bots running).
    const probeRoundTrip: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t = process.hrtime.bigint();
      await probeOrder();
      probeRoundTrip.push(ms(process.hrtime.bigint() - t));
    }
    const httpRoundTrip: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => http.get(`${apiUrl}/health/live`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
      httpRoundTrip.push(ms(process.hrtime.bigint() - t));
    }

    const toRefusal: number[] = [];
    const toAllHalted: number[] = [];
    for (let n = 0; n < WARMUP + ACTIVATIONS; n++) {
      if ((await probeOrder()) === 'KILL_SWITCH_ACTIVE') throw new Error('switch still active before an activation');
      const t0 = process.hrtime.bigint();
      const request = VIA_NATS
        ? bus.request(KillSwitchActivateCmd, { scope: 'global', reason: `bench activation ${n}` }, { actor: operator }, 5000)
        : api('/api/v1/kill-switch/activate', { scope: 'global', reason: `bench activation ${n}` });
      let probes = 0;
      let lastProbeMs = 0;
      const refused = (async () => {
        // One probe at a time, about one per millisecond: fine-grained without flooding the gateway.
        for (;;) {
          const sent = process.hrtime.bigint();
          const outcome = await probeOrder();
          probes++;
          lastProbeMs = ms(process.hrtime.bigint() - sent);
          if (outcome === 'KILL_SWITCH_ACTIVE') return ms(process.hrtime.bigint() - t0);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const halted = (async () => {
        // Every ~5 ms: finer would load the PostgreSQL that the activation itself is using.
        for (;;) {
          const { rows } = await db.query<{ left: string }>("SELECT count(*) AS left FROM bots.bot WHERE state <> 'HALTED'");
          if (rows[0]?.left === '0') return ms(process.hrtime.bigint() - t0);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const [a, b, replyMs] = await Promise.all([refused, halted, request.then(() => ms(process.hrtime.bigint() - t0))]);
      if (VERBOSE)
        console.log(
          `activation ${n}: refused ${a.toFixed(1)} ms, halted ${b.toFixed(1)} ms, API reply ${replyMs.toFixed(1)} ms (${probes} probes, the refused one's round trip ${lastProbeMs.toFixed(1)} ms)`,
        );
      if (n >= WARMUP) {
        toRefusal.push(a);
        toAllHalted.push(b);
      }
      // Reset (not measured): deactivate through the API, bots back to RUNNING behind the service's back.
      await api('/api/v1/kill-switch/deactivate', { scope: 'global', reason: 'bench reset' });
      while ((await probeOrder()) === 'KILL_SWITCH_ACTIVE');
      await db.query("UPDATE bots.bot SET state = 'RUNNING'");
      await new Promise((r) => setTimeout(r, 1500)); // let the previous halt's events and audit appends drain
    }

    // Baselines, same run, same machine.
    const natsRtt: number[] = [];
    const sub = nc.subscribe(`${namespace}.bench.echo`, { callback: (_e, m) => void m.respond(m.data) });
    for (let i = 0; i < 2000; i++) {
      const t = process.hrtime.bigint();
      await nc.request(`${namespace}.bench.echo`, new Uint8Array(200));
      natsRtt.push(ms(process.hrtime.bigint() - t));
    }
    sub.unsubscribe();
    await db.query('CREATE TABLE bench_commit (id serial PRIMARY KEY, note text)');
    const pgCommit: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = process.hrtime.bigint();
      await db.query('BEGIN');
      await db.query('INSERT INTO bench_commit (note) VALUES ($1)', ['x']);
      await db.query('COMMIT');
      pgCommit.push(ms(process.hrtime.bigint() - t));
    }

    console.log(
      `\nbench/kill-switch — ${BOTS} running bots, ${ACTIVATIONS} global activations after ${WARMUP} warm-up (services in their own processes, real NATS + PostgreSQL)`,
    );
    console.log(summary('(a) activate request -> gateway refuses an order', toRefusal) + '   target p99 <= 25 ms');
    console.log(summary(`(b) activate request -> last of ${BOTS} bots HALTED, persisted`, toAllHalted) + '   target p99 <= 250 ms');
    // Where (a) and (b) go, from the services' own histograms (cumulative over the run, warm-up included).
    const metricsOf = async (name: string) => (await fetch(`${services.find((x) => x.name === name)!.url}/metrics`)).text();
    console.log(
      histogramLine(
        '  risk-service: request received -> replied (activate)',
        await metricsOf('risk-service'),
        'garde_risk_kill_switch_change_seconds',
        'action="activate"',
      ),
    );
    const gatewayMetrics = await metricsOf('exchange-gateway');
    const propagation = 'garde_gateway_kill_switch_propagation_seconds';
    console.log(histogramLine('  gateway: activation accepted in risk -> announced, enforced', gatewayMetrics, propagation, 'via="announced"'));
    console.log(histogramLine('  gateway: change recorded in risk -> bucket write seen', gatewayMetrics, propagation, 'via="recorded"'));
    console.log(
      histogramLine('  bot-service: change received -> bots HALTED, committed', await metricsOf('bot-service'), 'garde_bot_kill_switch_halt_seconds', '', [
        '0.025',
        '0.05',
        '0.1',
      ]),
    );
    console.log(summary('baseline: raw NATS request/reply round trip', natsRtt));
    console.log(summary('baseline: raw PostgreSQL commit (BEGIN; INSERT; COMMIT)', pgCommit));
    console.log(summary('measured in: a probe refused at the gateway, switch off', probeRoundTrip));
    console.log(summary('measured in: HTTP round trip to the gateway (health)', httpRoundTrip));
  } finally {
    for (const s of services.reverse()) await s.stop();
    await db.end().catch(() => undefined);
    await bench.dispose(nc);
    await nc.close();
  }
}

await main();
