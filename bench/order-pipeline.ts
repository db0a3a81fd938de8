/**
 * bench/order-pipeline: how many orders per second go from a bot's submit to the venue's ack through
 * the gateway, and what does the gateway add over calling the venue directly?
 *
 * Every part in its own process, on the real NATS and PostgreSQL of this machine: the exchange
 * simulator (`apps/exchange-simulator/src/main.ts`, configured through SIM_CONFIG), risk-service and
 * the exchange-gateway, with one exchange account per `--accounts` added through the operators' API
 * (each on its own exchange id, pointing at the same simulated venue with its own API key).
 *
 * Measured path: orders sent over NATS as a bot sends them (`gateway.cmd.order.submit`), each a limit
 * buy of 0.001 BTC/USDT at half the price, so the venue accepts it and it rests OPEN without a fill.
 * submit→ack is from sending the request to receiving the gateway's reply with the venue's answer
 * (validation, kill-switch gate, account lookup, risk-service's pre-trade check, PENDING_SUBMIT in
 * PostgreSQL, ccxt → simulator, answer recorded, event to JetStream). An answer other than OPEN counts
 * as an error under its state (e.g. REJECTED), a refusal under its code.
 * Baseline in the same run, same load shape: the same orders sent straight to the simulator with ccxt,
 * one client per account built by the gateway's own `createCcxtClient` (the same options and timeout
 * as the gateway's clients), from this process. Raw baseline first, then the gateway.
 *
 * Load: open loop at `--rate` orders/s spread evenly over the accounts (latency measured from each
 * send; the generator's lag behind its schedule is printed), or with `--concurrency=N` a closed loop
 * of N submitters. `--warmup` seconds of the same load first, not counted: 15 s by default, as V8 is
 * still compiling the gateway's hot code for ~10–20 s of this load (its compiler threads took 45 % of
 * the gateway's CPU in the first 10 s, 15 % in the next 10, ~5 % after: perf, BENCHMARKS.md).
 * Throughput is acked orders divided by the time from the first send to the last answer, so a backlog
 * drained after the window lowers it. A request gets no answer after `--timeout-ms` counts as TIMEOUT.
 *
 * The resting book: tens of thousands of resting orders cost the simulator nothing here (prices are
 * frozen, `tickIntervalMs: 0`, so no matching pass ever scans the book; placing is O(1)), but the
 * gateway polls every open order at its venue every ORDER_POLL_MS (2 s) with a fetchOrder through the
 * same account's rate-limit budget. At 500 new orders/s that is a growing poll load unrelated to
 * submit→ack, so the gateway runs with ORDER_POLL_MS=1 h by default (`--order-poll-ms=2000` puts the
 * production setting back, to see what tracking costs). Orders that fill at once (market orders) would
 * make each submit also read the venue's trades: another venue call, not the ack this measures. For the
 * same reason risk-service's periodic reconciliation is off (RECONCILE_INTERVAL_MS=0): every minute it
 * would read the account's open orders at the venue, 30,000 after a minute at 500/s (a book no real
 * venue allows one account: Binance caps open orders at 200 per symbol), and that read, 4–8 MB of JSON
 * through ccxt in the gateway, stalls the order path for seconds.
 *
 * Rate limits: the gateway replaces ccxt's throttler with one budget per account under ~80 % of the
 * limits the venue publishes (exchangeInfo); the simulator publishes limits far above any load here,
 * so that budget never makes an order wait. The baseline's clients have ccxt's throttler off too
 * (`enableRateLimit = false`, as the gateway sets it): left on, binance's `rateLimit` 50 ms × cost 0.2
 * per order POST caps a client at 100 orders/s and, in ccxt 4.5.84, makes every order wait ~10 ms
 * even at a low rate (its leaky bucket refills only while calls are queued).
 *
 *   npm run bench:order-pipeline [-- --seconds=20 --rate=500 --warmup=15 --accounts=1 --concurrency=N
 *                                    --timeout-ms=5000 --order-poll-ms=3600000 --profile --verbose]
 * `--profile` writes the CPU profiles of the simulator, risk-service and the gateway (node --cpu-prof;
 * one per thread, the module loader's hooks run in one of their own) under
 * .garde/profiles/order-pipeline-<run>/<service>/.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { Exchange } from 'ccxt';
import { OrderSubmitCmd, busTopology, type SubmitOrder } from '@garde/contracts';
import { JsonLogger, MessageBus } from '@garde/platform';
import { REPO_ROOT, freePort, startServiceProcess, type ServiceProcess } from '@garde/testing';
import { createCcxtClient } from '../apps/exchange-gateway/src/venues/ccxt-client.js';
import { NATS_URL, createBenchEnvironment } from './environment.js';
import { arg, argValue, histogramLine, ms, percentile, postgresCpu, processStats, summary } from './stats.js';

const SECONDS = arg('seconds', 20);
/** Orders per second offered in total (open loop); ignored with --concurrency. */
const RATE = arg('rate', 500);
/** Closed loop of this many submitters instead of an open-loop rate. */
const CONCURRENCY = argValue('concurrency') === undefined ? undefined : arg('concurrency', 1);
/** Seconds of the same load run first on each path and not counted (JIT, connections, loaded markets). */
const WARMUP = arg('warmup', 15);
/** Exchange accounts, each its own ccxt client (and rate-limit budget in the gateway); orders are spread evenly. */
const ACCOUNTS = arg('accounts', 1);
const TIMEOUT_MS = arg('timeout-ms', 5000);
/** The gateway's ORDER_POLL_MS: how soon it starts polling each resting order (see the header). */
const ORDER_POLL_MS = arg('order-poll-ms', 3_600_000);
const PROFILE = process.argv.includes('--profile');
const VERBOSE = process.argv.includes('--verbose');

const VENUE_ID = 'sim-bench';
const SYMBOL = 'BTC/USDT';
/** The simulator's BTC/USDT starts at 60000 and stays there (frozen prices): a buy at 30000 rests. */
const PRICE = '30000';
const QUANTITY = '0.001';
/** Far above any load this machine can offer, so neither the venue nor a budget of ~80 % of it throttles. */
const SIM_RATE_LIMITS = { requestWeightPerMinute: 1_000_000_000, ordersPer10Seconds: 1_000_000_000, ordersPerDay: 1_000_000_000 };

/** One submit: resolves with 'OK' when the venue acknowledged the order, else an error code. */
type Submit = (seq: number) => Promise<{ code: string; message?: string }>;

interface PhaseResult {
  latencies: number[];
  errors: Map<string, { count: number; sample: string }>;
  acked: number;
  sent: number;
  elapsedMs: number;
  /** How late the open-loop generator sent its orders behind their schedule, ms (p99). */
  lagP99: number;
  /** Acks per second of the window, for --verbose. */
  perSecond: number[];
  /** Every submit's promise, including those whose answer came after TIMEOUT_MS. */
  settled: Promise<unknown>;
}

async function main(): Promise<void> {
  const bench = await createBenchEnvironment();
  const { env, namespace, suffix, token } = bench;

  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
    id: `bench-${i}`,
    exchangeId: `${VENUE_ID}-${i}`,
    apiKey: `bench-key-${i}-${suffix}`,
    secret: randomBytes(24).toString('hex'),
  }));
  const services: ServiceProcess[] = [];
  let simulator: ServiceProcess | undefined;
  const nc = await connect({ servers: NATS_URL });
  try {
    const venuePort = await freePort();
    const simConfig = {
      venues: [
        {
          id: VENUE_ID,
          port: venuePort,
          tickIntervalMs: 0,
          rateLimits: SIM_RATE_LIMITS,
          accounts: accounts.map((a) => ({ apiKey: a.apiKey, secret: a.secret, balances: { USDT: '1000000000000', BTC: '1000000' } })),
        },
      ],
      controlPort: await freePort(),
    };
    const profileDir = path.join(REPO_ROOT, '.garde', 'profiles', `order-pipeline-${suffix}`);
    // One folder per service: a profile's file name says only its process id.
    const profiled = (service: string) => {
      if (!PROFILE) return {};
      mkdirSync(path.join(profileDir, service), { recursive: true });
      return { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, service)}`] };
    };
    // `npm run simulator`, configured through SIM_CONFIG.
    simulator = await startServiceProcess('exchange-simulator', { SIM_CONFIG: JSON.stringify(simConfig) }, venuePort, 'bench', {
      readyPath: '/api/v3/ping',
      ...profiled('exchange-simulator'),
    });
    const venueUrl = simulator.url;
    // Every order is the same buy of the same bot, hundreds a second: risk-service's duplicate window and
    // message-rate limit would refuse them. The checks still run on each order; they just all pass.
    services.push(
      await startServiceProcess(
        'risk-service',
        { ...env, DUPLICATE_ORDER_WINDOW_MS: '0', RECONCILE_INTERVAL_MS: '0' },
        await freePort(),
        'bench',
        profiled('risk-service'),
      ),
    );
    const gatewayEnv = { ...env, ORDER_POLL_MS: String(ORDER_POLL_MS) };
    services.push(await startServiceProcess('exchange-gateway', gatewayEnv, await freePort(), 'bench', profiled('exchange-gateway')));
    const gatewayUrl = services.at(-1)!.url;
    for (const a of accounts) {
      const res = await fetch(`${gatewayUrl}/api/v1/exchange-accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: a.id, exchangeId: a.exchangeId, ccxtId: 'binance', urlOverride: venueUrl, apiKey: a.apiKey, secret: a.secret }),
      });
      if (res.status !== 201) throw new Error(`could not add exchange account ${a.id}: ${res.status} ${await res.text()}`);
    }
    const limits = await fetch(`${gatewayUrl}/api/v1/risk/limits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        scope: 'firm',
        changes: { maxMessagesPerSecond: 100_000, maxOpenNotional: '1000000000000' },
        reason: 'bench: rate and exposure out of the way',
      }),
    });
    if (!limits.ok) throw new Error(`could not widen the firm's risk limits: ${limits.status} ${await limits.text()}`);
    const bus = new MessageBus(nc, busTopology(namespace), 'bench', new JsonLogger('bench', 'error').child('bus'));

    const order = (seq: number, prefix: string): SubmitOrder => ({
      clientOrderId: `${prefix}-${suffix}-${seq}`,
      botId: 'bench-bot',
      exchangeId: accounts[seq % ACCOUNTS]!.exchangeId,
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      quantity: QUANTITY,
      price: PRICE,
      reduceOnly: false,
    });

    // Baseline: ccxt straight to the simulator, one client per account as the gateway builds it.
    const raw: Exchange[] = [];
    for (const a of accounts) {
      const client = createCcxtClient({ ccxtId: 'binance', urlOverride: venueUrl, sandbox: false, apiKey: a.apiKey, secret: a.secret, timeoutMs: 10_000 });
      client.enableRateLimit = false; // as the gateway does: its own budget replaces ccxt's throttler
      await client.loadMarkets();
      raw.push(client);
    }
    let rawPrefix = 'rw';
    const rawSubmit: Submit = async (seq) => {
      const o = order(seq, rawPrefix);
      try {
        const answer = await raw[seq % ACCOUNTS]!.createOrder(o.symbol, o.type, o.side, Number(o.quantity), Number(o.price), {
          newClientOrderId: o.clientOrderId,
        });
        return answer.status === 'open' ? { code: 'OK' } : { code: `STATE_${String(answer.status)}` };
      } catch (err) {
        return { code: err instanceof Error ? err.constructor.name : 'ERROR', message: err instanceof Error ? err.message : String(err) };
      }
    };
    let gatewayPrefix = 'gw';
    const gatewaySubmit: Submit = async (seq) => {
      const reply = await bus.request(OrderSubmitCmd, order(seq, gatewayPrefix), {}, TIMEOUT_MS);
      if (!reply.ok) return { code: reply.error.code, message: reply.error.message };
      return reply.result.state === 'OPEN' ? { code: 'OK' } : { code: `STATE_${reply.result.state}`, message: reply.result.lastError ?? '' };
    };

    const load = CONCURRENCY === undefined ? `open loop at ${RATE} orders/s` : `closed loop, ${CONCURRENCY} submitters`;
    console.log(`load: ${load}, ${SECONDS} s measured after ${WARMUP} s warm-up, on ${ACCOUNTS} account(s); raw baseline first`);
    // The bench shares the two cores with whatever else runs: the load average (its own processes included) hints at it.
    const loadBefore = loadavg()[0]!;
    rawPrefix = 'rwu';
    await (
      await drive(rawSubmit, WARMUP)
    ).settled;
    rawPrefix = 'rw';
    const simulatorPid = simulator.child.pid!;
    const rawCpuBefore = processStats(simulatorPid).cpuSeconds;
    const rawResult = await drive(rawSubmit, SECONDS);
    const rawSimulatorCpu = processStats(simulatorPid).cpuSeconds - rawCpuBefore;
    // The next phase starts once every raw order has its answer (a timed-out one may still be queued in ccxt).
    await rawResult.settled;
    await new Promise((r) => setTimeout(r, 1000));
    gatewayPrefix = 'gwu';
    await drive(gatewaySubmit, WARMUP);
    gatewayPrefix = 'gw';
    const metricsOf = async (name: string) => (await fetch(`${services.find((x) => x.name === name)!.url}/metrics`)).text();
    // The gateway's own count of orders it got OPEN during the window, answered in time or not.
    const openBefore = openOrdersCounted(await metricsOf('exchange-gateway'));
    // CPU time of each process over the window (less noisy than latency from one run to the next).
    // PostgreSQL's too, all of it (the gateway's statements, and anything else it runs meanwhile).
    const postgres = await postgresCpu(bench.databaseUrl);
    const cpuOf = (): Record<string, number> => ({
      simulator: processStats(simulatorPid).cpuSeconds,
      ...Object.fromEntries(services.map((x) => [x.name, processStats(x.child.pid!).cpuSeconds])),
      ...(postgres ? { PostgreSQL: postgres() } : {}),
    });
    const cpuBefore = cpuOf();
    const gatewayResult = await drive(gatewaySubmit, SECONDS);
    const cpuAfter = cpuOf();
    const gatewayMetrics = await metricsOf('exchange-gateway');
    const riskMetrics = await metricsOf('risk-service');
    const openDuring = openOrdersCounted(gatewayMetrics) - openBefore;

    console.log(
      `\nbench/order-pipeline — limit orders resting OPEN on the exchange simulator, ${load}, ${SECONDS} s after ${WARMUP} s warm-up, ${ACCOUNTS} account(s) (every service in its own process, real NATS + PostgreSQL; 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after)`,
    );
    const rawLine = report('baseline: raw ccxt -> simulator createOrder', rawResult);
    const gatewayLine = report('bot -> NATS -> gateway (+risk) -> ccxt -> simulator -> ack', gatewayResult);
    console.log(gatewayLine + '   target >= 500/s, p99 <= 50 ms');
    console.log(rawLine);
    const added = percentile(gatewayResult.latencies, 50) - percentile(rawResult.latencies, 50);
    if (!Number.isNaN(added)) console.log(`${'gateway - raw at p50'.padEnd(58)} ${added >= 0 ? '+' : ''}${added.toFixed(2)} ms   target <= 5 ms`);
    console.log(
      `${'  gateway: orders it got OPEN during the window (own count)'.padEnd(58)} n=${String(openDuring).padStart(4)}  ${((1000 * openDuring) / gatewayResult.elapsedMs).toFixed(0)}/s, answered in time or not`,
    );
    // From the gateway's own histogram: cumulative since it started, warm-up included.
    console.log(
      histogramLine('  gateway: submit received -> venue answer recorded', gatewayMetrics, 'garde_gateway_order_submit_seconds', 'outcome="answered"', [
        '0.005',
        '0.01',
        '0.025',
        '0.05',
      ]),
    );
    console.log(
      histogramLine('  risk-service: pre-trade check (inside, approved)', riskMetrics, 'garde_risk_order_check_seconds', 'decision="APPROVED"', [
        '0.0005',
        '0.001',
        '0.0025',
        '0.005',
      ]),
    );
    const perOrder = (seconds: number, result: PhaseResult) => ((1000 * seconds) / Math.max(1, result.latencies.length)).toFixed(2);
    const cpuLine = Object.keys(cpuAfter)
      .map((name) => `${name} ${perOrder(cpuAfter[name]! - cpuBefore[name]!, gatewayResult)}`)
      .join(', ');
    console.log(`  CPU per acked order (ms, user + system): ${cpuLine}; raw phase: simulator ${perOrder(rawSimulatorCpu, rawResult)}`);
    for (const [name, r] of [
      ['raw', rawResult],
      ['gateway', gatewayResult],
    ] as const) {
      for (const [code, e] of r.errors) console.log(`  ${name} errors ${code}: ${e.count}  e.g. ${e.sample.slice(0, 160)}`);
      if (VERBOSE) console.log(`  ${name} acks per second: ${r.perSecond.join(' ')}`);
    }
    if (VERBOSE)
      console.log(
        gatewayMetrics
          .split('\n')
          .filter((l) => l.startsWith('garde_gateway_orders_total'))
          .join('\n'),
      );
  } finally {
    for (const s of services.reverse()) await s.stop();
    await simulator?.stop();
    await bench.dispose(nc);
    await nc.close();
  }
}

/**
 * Runs `submit` for `seconds`: open loop at RATE (each order sent at its scheduled time whatever the
 * answers do), or CONCURRENCY submitters each sending its next order when the previous one is answered.
 */
async function drive(submit: Submit, seconds: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  const errors = new Map<string, { count: number; sample: string }>();
  const lags: number[] = [];
  const perSecond: number[] = [];
  const pending = new Set<Promise<unknown>>();
  const t0 = process.hrtime.bigint();
  const elapsed = () => ms(process.hrtime.bigint() - t0);
  let lastAnswer = 0;
  let acked = 0;
  let sent = 0;

  const one = async (seq: number): Promise<void> => {
    const t = process.hrtime.bigint();
    const call = submit(seq);
    pending.add(call);
    void call.finally(() => pending.delete(call));
    // The timer goes once the answer is in: 10 s of 500 timers a second, left to fire, were garbage this
    // process kept long enough to collect it in full (old-space collections, pauses in what it measures).
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      call,
      new Promise<{ code: string; message?: string }>((resolve) => {
        timer = setTimeout(() => resolve({ code: 'TIMEOUT', message: `no answer within ${TIMEOUT_MS} ms` }), TIMEOUT_MS).unref();
      }),
    ]);
    clearTimeout(timer);
    const took = ms(process.hrtime.bigint() - t);
    lastAnswer = elapsed();
    if (outcome.code === 'OK') {
      acked++;
      latencies.push(took);
      const second = Math.floor(lastAnswer / 1000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    } else {
      const e = errors.get(outcome.code) ?? { count: 0, sample: outcome.message ?? '' };
      e.count++;
      errors.set(outcome.code, e);
    }
  };

  const answered: Promise<void>[] = [];
  const endMs = seconds * 1000;
  if (CONCURRENCY === undefined) {
    const interval = 1000 / RATE;
    for (;;) {
      const now = elapsed();
      if (now >= endMs) break;
      while (sent * interval <= now && sent * interval < endMs) {
        lags.push(now - sent * interval);
        answered.push(one(sent++));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  } else {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (elapsed() < endMs) await one(sent++);
      }),
    );
  }
  await Promise.all(answered);
  for (let i = 0; i < perSecond.length; i++) perSecond[i] ??= 0;
  return {
    latencies,
    errors,
    acked,
    sent,
    elapsedMs: lastAnswer,
    lagP99: lags.length ? percentile(lags, 99) : 0,
    perSecond,
    settled: Promise.allSettled([...pending]),
  };
}

function report(label: string, r: PhaseResult): string {
  const errors = [...r.errors.values()].reduce((n, e) => n + e.count, 0);
  const lag = CONCURRENCY === undefined ? `  send lag p99 ${r.lagP99.toFixed(1)} ms` : '';
  const latency = r.latencies.length ? summary(label, r.latencies) : `${label.padEnd(58)} n=   0  (no order acknowledged within ${TIMEOUT_MS} ms)`;
  return `${latency}  ${((1000 * r.acked) / r.elapsedMs).toFixed(0).padStart(4)} acked/s  (${r.sent} sent, ${errors} errors${lag})`;
}

/** Orders the gateway recorded OPEN since it started, from its `garde_gateway_orders_total` counter (all series). */
function openOrdersCounted(metrics: string): number {
  let total = 0;
  for (const m of metrics.matchAll(/^garde_gateway_orders_total\{([^}]*)\} (\S+)$/gm)) if (m[1]!.includes('result="OPEN"')) total += Number(m[2]);
  return total;
}

await main();
