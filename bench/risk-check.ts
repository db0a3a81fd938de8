/**
 * bench/risk-check: what a pre-trade check costs, inside risk-service and over NATS, at 1,000 and 5,000
 * checks a second.
 *
 * In-process: the pure checks of libs/domain/src/risk (`checkPreTrade`) and the count of the approved
 * order in the exposure book (`ExposureBook.approve`), exactly the synchronous part of risk-service's
 * CheckOrder, timed call by call. The book starts with a fleet's state (100 bots on 10 markets, each
 * with a position and 10 open orders) and every bot and market has limits of its own; the clock is
 * virtual and advances 1/rate per check, so the message-rate and duplicate checks see the rate's own
 * window of recent approvals (what they scan).
 *
 * Over NATS: risk-service in its own process on this machine's NATS and PostgreSQL; this process plays
 * the gateway: it publishes the market's ticker (every 100 ms), answers risk-service's market
 * subscriptions, and sends `risk.qry.order.check` requests in an open loop at each rate, each a
 * distinct limit buy (100 bots in turn, prices spread so no two are duplicates). The round trip is
 * from the send to the decision received; every approval is also published to the AUDIT stream and read
 * back by risk-service's exposure feed, as in production. Baseline in the same run: raw nats.js
 * request/reply to an echo responder in another process, same payload size, same rates.
 *
 *   npm run bench:risk-check [-- --seconds=10 --warmup=2 --rates=1000,5000 --checks=20000 --profile]
 * `--profile` writes risk-service's CPU profiles under .garde/profiles/risk-check-<run>/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MarketSubscribeCmd, OrderCheckQry, RiskLimitsSetCmd, TickerUpdatedMd, busTopology, tickerKey, type Actor, type SubmitOrder } from '@garde/contracts';
import { Decimal, ExposureBook, MESSAGE_RATE_WINDOW_MS, NO_LIMITS, checkPreTrade, type BookOrder, type MarketQuote, type RiskLimits } from '@garde/domain';
import { JsonLogger, MessageBus } from '@garde/platform';
import { REPO_ROOT, freePort, startServiceProcess, type ServiceProcess } from '@garde/testing';
import { NATS_URL, createBenchEnvironment } from './environment.js';
import { arg, argValue, histogramLine, ms, percentile, summary } from './stats.js';

const SECONDS = arg('seconds', 10);
const WARMUP = arg('warmup', 2);
const RATES = (argValue('rates') ?? '1000,5000').split(',').map(Number);
/** In-process checks timed per rate. */
const CHECKS = arg('checks', 20_000);
const TIMEOUT_MS = 2000;
const PROFILE = process.argv.includes('--profile');

const EXCHANGE = 'sim-bench';
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'XRP/USDT', 'ADA/USDT', 'DOT/USDT', 'AVAX/USDT', 'LINK/USDT', 'ATOM/USDT', 'NEAR/USDT'];
const BOTS = 100;
/** The duplicate window risk-service uses by default (DUPLICATE_ORDER_WINDOW_MS). */
const DUPLICATE_WINDOW_MS = 1000;
const operator: Actor = { id: 'bench', kind: 'operator', role: 'admin' };

/** A limit buy of bot `seq % BOTS` on BTC/USDT, priced so that no two orders within 100,000 are the same. */
function orderOf(seq: number, prefix: string): SubmitOrder {
  return {
    clientOrderId: `${prefix}-${seq}`,
    botId: `bench-bot-${seq % BOTS}`,
    exchangeId: EXCHANGE,
    accountId: 'bench-account',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: '0.001',
    price: (59_000 + (Math.floor(seq / BOTS) % 1000)).toFixed(2),
    reduceOnly: false,
  };
}

const limits = (changes: Partial<RiskLimits>): RiskLimits => ({ ...NO_LIMITS, ...changes });

function inProcess(rate: number): number[] {
  const book = new ExposureBook({
    approvalTtlMs: 60_000,
    tombstoneTtlMs: 3_600_000,
    recentWindowMs: Math.max(MESSAGE_RATE_WINDOW_MS, DUPLICATE_WINDOW_MS) + 1000,
  });
  const start = Date.now();
  const quotes = new Map<string, MarketQuote>();
  const scopes = new Map<string, RiskLimits>();
  scopes.set(
    'firm',
    limits({
      maxOrderNotional: Decimal.of('25000'),
      maxOpenNotional: Decimal.of('1000000000000'),
      maxMessagesPerSecond: 100_000,
      priceCollarPercent: Decimal.of('10'),
      maxReferenceAgeMs: 10_000,
    }),
  );
  scopes.set(`exchange:${EXCHANGE}`, limits({ maxOpenNotional: Decimal.of('1000000000000') }));
  // A fleet's state: every bot holds a position and 10 resting orders on its market.
  for (const [i, symbol] of SYMBOLS.entries()) {
    const price = Decimal.of(String(100 * (i + 1)));
    quotes.set(symbol, { bid: price, ask: price, last: price, tickSize: Decimal.of('0.01'), stepSize: Decimal.of('0.00001'), at: start });
    scopes.set(`instrument:${EXCHANGE}:${symbol}`, limits({ maxOrderQuantity: Decimal.of('1000'), maxOpenNotional: Decimal.of('1000000000') }));
  }
  quotes.set('BTC/USDT', { ...quotes.get('BTC/USDT')!, bid: Decimal.of('59990'), ask: Decimal.of('60010'), last: Decimal.of('60000') });
  for (let b = 0; b < BOTS; b++) {
    const botId = `bench-bot-${b}`;
    const symbol = SYMBOLS[b % SYMBOLS.length]!;
    const last = quotes.get(symbol)!.last!;
    scopes.set(`bot:${botId}`, limits({ maxOrderNotional: Decimal.of('10000'), maxOpenNotional: Decimal.of('1000000'), maxMessagesPerSecond: 10_000 }));
    const report = { clientOrderId: `pos-${b}`, botId, exchangeId: EXCHANGE, accountId: 'bench-account', symbol, side: 'buy' as const };
    book.fill(
      { ...report, quantity: Decimal.of('1'), price: last, state: 'FILLED', filled: Decimal.of('1') },
      { tradeId: `t-${b}`, quantity: Decimal.of('1'), price: last },
      start,
    );
    for (let o = 0; o < 10; o++) {
      book.report(
        {
          ...report,
          clientOrderId: `rest-${b}-${o}`,
          side: o % 2 ? 'sell' : 'buy',
          quantity: Decimal.of('0.1'),
          price: last,
          state: 'OPEN',
          filled: Decimal.ZERO,
        },
        start,
      );
    }
  }
  const lookup = (scope: string) => scopes.get(scope);
  const priceOf = (_exchangeId: string, symbol: string) => quotes.get(symbol)?.last ?? undefined;
  const took: number[] = [];
  let denied = 0;
  for (let seq = 0; seq < CHECKS; seq++) {
    const now = start + (seq * 1000) / rate;
    const wire = orderOf(seq, `ip${rate}`);
    const t = process.hrtime.bigint();
    const order: BookOrder = {
      clientOrderId: wire.clientOrderId,
      botId: wire.botId,
      exchangeId: wire.exchangeId,
      accountId: wire.accountId,
      symbol: wire.symbol,
      side: wire.side,
      type: wire.type,
      quantity: Decimal.of(wire.quantity),
      price: Decimal.of(wire.price!),
    };
    const quote = quotes.get(order.symbol)!;
    const result = checkPreTrade({
      order: { ...order, reduceOnly: false },
      now,
      quote: { ...quote, at: now },
      limits: lookup,
      book,
      tradingState: { state: 'ACTIVE' },
      duplicateWindowMs: DUPLICATE_WINDOW_MS,
      priceOf,
    });
    if (result.approved) book.approve(order, now, result.referencePrice);
    else denied++;
    took.push(ms(process.hrtime.bigint() - t));
    if (seq % 5000 === 4999) book.sweep(now);
  }
  if (denied) console.log(`  in-process at ${rate}/s: ${denied} of ${CHECKS} denied (expected none)`);
  return took;
}

interface Phase {
  latencies: number[];
  errors: Map<string, number>;
  lagP99: number;
}

/** Sends `send(seq)` at `rate` per second for `seconds` (open loop) and times each answer. */
async function openLoop(rate: number, seconds: number, send: (seq: number) => Promise<string>): Promise<Phase> {
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const lags: number[] = [];
  const answered: Promise<void>[] = [];
  const t0 = process.hrtime.bigint();
  const elapsed = () => ms(process.hrtime.bigint() - t0);
  const interval = 1000 / rate;
  const endMs = seconds * 1000;
  let sent = 0;
  const one = async (seq: number) => {
    const t = process.hrtime.bigint();
    const outcome = await send(seq).catch((err: unknown) => (err instanceof Error ? err.constructor.name : 'ERROR'));
    if (outcome === 'OK') latencies.push(ms(process.hrtime.bigint() - t));
    else errors.set(outcome, (errors.get(outcome) ?? 0) + 1);
  };
  for (;;) {
    const now = elapsed();
    if (now >= endMs) break;
    while (sent * interval <= now && sent * interval < endMs) {
      lags.push(now - sent * interval);
      answered.push(one(sent++));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(answered);
  return { latencies, errors, lagP99: percentile(lags, 99) };
}

function line(label: string, p: Phase): string {
  const errors = [...p.errors].map(([code, n]) => `${code} ${n}`).join(', ');
  return `${p.latencies.length ? summary(label, p.latencies) : label.padEnd(58) + ' no answer'}   send lag p99 ${p.lagP99.toFixed(1)} ms${errors ? `   not OK: ${errors}` : ''}`;
}

/** A nats.js echo responder in a process of its own (the baseline crosses processes, as the check does). */
async function startEcho(subject: string): Promise<ChildProcess> {
  const script = `
    import { connect } from '@nats-io/transport-node';
    const nc = await connect({ servers: ${JSON.stringify(NATS_URL)} });
    const reply = new Uint8Array(120);
    nc.subscribe(${JSON.stringify(subject)}, { callback: (_e, m) => m.respond(reply) });
    await nc.flush();
    console.log('ready');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`echo responder exited with ${code}`)));
  });
  return child;
}

async function main(): Promise<void> {
  console.log(
    `bench/risk-check: rates ${RATES.join(', ')} checks/s; in-process ${CHECKS} checks per rate; over NATS ${SECONDS} s per rate after ${WARMUP} s warm-up`,
  );
  console.log('\nin-process (checkPreTrade + ExposureBook.approve; 100 bots x 10 resting orders, per-bot and per-market limits)');
  inProcess(RATES[0]!); // JIT warm-up, not counted
  for (const rate of RATES) console.log(summary(`  at ${rate}/s (virtual clock)`, inProcess(rate)) + '   target p99 <= 1 ms');

  const bench = await createBenchEnvironment();
  const { env, namespace } = bench;
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  let risk: ServiceProcess | undefined;
  let echo: ChildProcess | undefined;
  let ticking: NodeJS.Timeout | undefined;
  try {
    const bus = new MessageBus(nc, busTopology(namespace), 'bench', new JsonLogger('bench', 'error').child('bus'));
    // This process plays the gateway's market data: risk-service asks it to keep BTC/USDT polled and reads its tickers.
    bus.serve(MarketSubscribeCmd, `${namespace}.bench`, (p) =>
      Promise.resolve({ exchangeId: p.exchangeId, symbol: p.symbol, until: new Date(Date.now() + p.ttlMs).toISOString() }),
    );
    const tick = () => {
      const now = new Date().toISOString();
      bus.broadcast(
        TickerUpdatedMd,
        {
          exchangeId: EXCHANGE,
          symbol: 'BTC/USDT',
          bid: '59990',
          ask: '60010',
          last: '60000',
          tickSize: '0.01',
          stepSize: '0.00001',
          venueTime: now,
          receivedAt: now,
        },
        tickerKey(EXCHANGE, 'BTC/USDT'),
      );
    };
    tick();
    ticking = setInterval(tick, 100);
    const profileDir = path.join(REPO_ROOT, '.garde', 'profiles', `risk-check-${bench.suffix}`);
    if (PROFILE) mkdirSync(profileDir, { recursive: true });
    risk = await startServiceProcess(
      'risk-service',
      env,
      await freePort(),
      'bench',
      PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {},
    );
    const set = await bus.request(
      RiskLimitsSetCmd,
      { scope: 'firm', changes: { maxMessagesPerSecond: 100_000, maxOpenNotional: '1000000000000' }, reason: 'bench: rate and exposure out of the way' },
      { actor: operator },
      10_000,
    );
    if (!set.ok) throw new Error(`could not widen the firm's limits: ${set.error.message}`);
    // Until the new limits reach risk-service's view (KV watch), a check may still be denied on the old ones.
    for (let i = 0; ; i++) {
      const r = await bus.request(OrderCheckQry, orderOf(i, 'probe'), {}, TIMEOUT_MS);
      if (r.ok && r.result.decision === 'APPROVED') break;
      if (i > 200) throw new Error(`risk-service does not approve a plain order: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 50));
    }

    const check = (prefix: string) => async (seq: number) => {
      const r = await bus.request(OrderCheckQry, orderOf(seq, prefix), {}, TIMEOUT_MS);
      if (!r.ok) return r.error.code;
      return r.result.decision === 'APPROVED' ? 'OK' : r.result.reason;
    };
    const echoSubject = `${namespace}.bench.echo`;
    echo = await startEcho(echoSubject);
    const payload = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(560) }));
    const raw = async () => {
      await nc.request(echoSubject, payload, { timeout: TIMEOUT_MS });
      return 'OK';
    };

    await openLoop(RATES[0]!, WARMUP, check('warm'));
    await openLoop(RATES[0]!, WARMUP, raw);
    const results: string[] = [];
    for (const rate of RATES) {
      const before = loadavg()[0]!;
      const baseline = await openLoop(rate, SECONDS, raw);
      const viaNats = await openLoop(rate, SECONDS, check(`r${rate}`));
      results.push(
        `\nat ${rate} checks/s (1-min load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after)`,
        line('  gateway -> NATS -> risk-service check -> decision', viaNats) + (rate === 1000 ? '   target p99 <= 5 ms' : ''),
        line('  baseline: raw NATS request/reply (echo, 560 B)', baseline),
      );
    }
    console.log(results.join('\n'));
    const metrics = await (await fetch(`${risk.url}/metrics`)).text();
    console.log(
      '\n' +
        histogramLine('risk-service: check inside (approved, whole run)', metrics, 'garde_risk_order_check_seconds', 'decision="APPROVED"', [
          '0.0005',
          '0.001',
          '0.0025',
          '0.005',
        ]),
    );
  } finally {
    clearInterval(ticking);
    echo?.kill();
    await risk?.stop();
    await bench.dispose(nc);
    await nc.close();
  }
}

await main();
