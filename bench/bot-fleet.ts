/**
 * bench/bot-fleet: can one bot-service run 1,000 bots (mixed grid and DCA) on ticks at 1 Hz per symbol,
 * within one core and 500 MB, and how long from a price tick to the orders it leads to?
 *
 * bot-service runs as its own process, as in production, on the real NATS and PostgreSQL of this
 * machine, with risk-service (the kill switch it must read before any bot runs). The gateway is played
 * by this process, on the same bus and contracts: it answers the requests bot-service makes (market
 * subscriptions, a bot's orders and fills, order submits and cancels, market info for bot:create) from
 * memory, and acts as the venue: every second per symbol it moves the price (a seeded random walk),
 * fills the resting orders the price crossed (publishing `gateway.evt.order.filled` to JetStream, as
 * the gateway does), then broadcasts the ticker. Like the gateway, it publishes each order it accepts
 * (`gateway.evt.order.accepted`) and cancels (`gateway.evt.order.canceled`), which bot-service sees. So
 * what is measured is bot-service alone, not the gateway or a venue (bench/order-pipeline measures those).
 *
 * tick→intent: from the tick (the price moving at the venue, just before its fills and its ticker go
 * out) to each order submit or cancel that reaches the "gateway"
 * (NATS hops, bot-service's step: fills read, strategy, state saved in PostgreSQL with its outbox, the
 * request sent), charged to the latest tick of the order's symbol. Grid orders follow fills (made at a
 * tick), DCA buys a tick in a new interval slot; a rare intent made by the BOT_TICK_MS timer with no
 * tick before it would show up as a long one. It is also printed split in two: the requests of a bot
 * that had an order filled by that tick, and the others (made by the tick alone). bot-service's own
 * histogram of the same
 * (`garde_bot_tick_to_intent_seconds`: from the ticker's receipt to the intents saved, for steps woken
 * by a tick) is printed beside it.
 * CPU: bot-service's user+system time over the window (/proc/<pid>/stat), in cores, and risk-service's (it
 * shares the machine); RSS: bot-service's peak over the window (/proc/<pid>/status VmRSS).
 * Baselines in the same run: a raw NATS request/reply to an echo responder, and a raw PostgreSQL
 * `SELECT 1`, each a few thousand times, one at a time; and the least a step can be here, in bursts as
 * the ticks make them: messages published at once (one, then as many as the most fills one tick made in
 * the window) every 100 ms to another process (bench/raw-burst-worker.ts) that makes one PostgreSQL
 * write for each, or one for all the messages that arrive together (as bot-service groups a burst's
 * steps), and publishes them back — no contract, strategy or fence.
 *
 *   npm run bench:bot-fleet [-- --bots=1000 --symbols=10 --seconds=60 --warmup=20 --ladders=identical|staggered --move=0.4 --concurrency=N --verbose --profile]
 * `--profile` writes bot-service's CPU profiles (node --cpu-prof) under .garde/profiles/bot-fleet-<run>/.
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import {
  BotCreateCmd,
  BotStartCmd,
  BotOrdersQry,
  MarketInfoQry,
  MarketSubscribeCmd,
  OrderAcceptedEvt,
  OrderCancelCmd,
  OrderCanceledEvt,
  OrderFilledEvt,
  OrderSubmitCmd,
  TickerUpdatedMd,
  busTopology,
  tickerKey,
  type Actor,
  type Order,
  type OrderFill,
} from '@garde/contracts';
import { JsonLogger, MessageBus } from '@garde/platform';
import { REPO_ROOT, freePort, startServiceProcess, type ServiceProcess } from '@garde/testing';
import { NATS_URL, createBenchEnvironment } from './environment.js';
import { arg, argValue, percentile, postgresCpu, processStats, summary } from './stats.js';

const BOTS = arg('bots', 1000);
const SYMBOLS = arg('symbols', 10);
const SECONDS = arg('seconds', 60);
/** Seconds after every bot runs before the window opens (ladders placed, JIT warm). */
const WARMUP = arg('warmup', 20);
/** bot-service's ENGINE_CONCURRENCY; its own default when not given. */
const CONCURRENCY = argValue('concurrency') === undefined ? undefined : arg('concurrency', 16);
const VERBOSE = process.argv.includes('--verbose');
/**
 * `--ladders=staggered`: each grid bot gets its own range (±2 % to ±4 %) and level count (8 to 12), so
 * that a price move fills a few bots' orders at a time; by default every grid bot of a symbol gets the
 * same ladder (±3 %, 10 levels), and a level crossed fills all of them in the same tick (the worst case).
 */
const LADDERS = argValue('ladders') ?? 'identical';
if (LADDERS !== 'identical' && LADDERS !== 'staggered') throw new Error(`--ladders must be identical or staggered (got ${LADDERS})`);
const STAGGERED = LADDERS === 'staggered';
const PROFILE = process.argv.includes('--profile');
/**
 * `--move=<percent>`: the most a price moves in one tick (each tick a uniform draw within ±move). The
 * default, 0.4, is a very violent market (a standard deviation of ~0.23 % a second, ~68 % a day if it
 * lasted: about twenty times a volatile day for bitcoin), so that the ladders are crossed every few
 * ticks; `--move=0.03` (~0.017 % a second, ~5 % a day) is a busy day for a large coin.
 */
const MOVE = Number(argValue('move') ?? '0.4');
if (!(MOVE > 0 && MOVE < 10)) throw new Error(`--move must be a percentage between 0 and 10 (got ${argValue('move')})`);
const EXCHANGE = 'bench-venue';
const ACCOUNT = 'bench-account';
const operator: Actor = { id: 'bench', kind: 'operator', role: 'admin' };

interface Market {
  symbol: string;
  price: number;
  lastTickAt: number;
}

/** The gateway and venue played from memory (see the header). */
class FakeGateway {
  readonly markets = new Map<string, Market>();
  private readonly orders = new Map<string, Order>();
  /** Resting limit orders per symbol: a tick looks only at its own market's. */
  private readonly resting = new Map<string, Set<Order>>();
  private readonly byBot = new Map<string, Set<string>>();
  private readonly fills = new Map<string, OrderFill[]>();
  readonly latencies: number[] = [];
  /** The same latencies split: requests of a bot that had an order filled by its market's latest tick (grid re-quotes, take-profits), and the others (DCA buys on their slot). */
  readonly afterFill: number[] = [];
  readonly tickOnly: number[] = [];
  /** Per bot, the tick (its `lastTickAt`) that last filled one of its orders. */
  private readonly filledAtTick = new Map<string, number>();
  measuring = false;
  /** The most fills one tick made while measuring (the burst a tick sends to bot-service). */
  largestBurst = 0;
  submits = 0;
  cancels = 0;
  filled = 0;
  private seed = 42;
  private tradeSeq = 0;

  constructor(private readonly bus: MessageBus) {
    for (let i = 0; i < SYMBOLS; i++) this.markets.set(`C${i}/USDT`, { symbol: `C${i}/USDT`, price: 100 * (i + 1), lastTickAt: 0 });
  }

  serve(): void {
    const q = 'exchange-gateway';
    this.bus.serve(MarketInfoQry, q, (p) =>
      this.markets.has(p.symbol)
        ? Promise.resolve({
            exchangeId: p.exchangeId,
            symbol: p.symbol,
            accountId: ACCOUNT,
            tickSize: '0.01',
            stepSize: '0.00001',
            minQuantity: null,
            maxQuantity: null,
            minNotional: null,
          })
        : Promise.reject(new Error(`unknown market ${p.symbol}`)),
    );
    this.bus.serve(MarketSubscribeCmd, q, (p) =>
      Promise.resolve({ exchangeId: p.exchangeId, symbol: p.symbol, until: new Date(Date.now() + p.ttlMs).toISOString() }),
    );
    this.bus.serve(BotOrdersQry, q, (p) => {
      const since = p.since ? Date.parse(p.since) : 0;
      const ids = [...(this.byBot.get(p.botId) ?? [])];
      const orders = ids.map((id) => this.orders.get(id)!).filter((o) => Date.parse(o.updatedAt) >= since);
      return Promise.resolve({ orders, fills: orders.flatMap((o) => this.fills.get(o.clientOrderId) ?? []) });
    });
    this.bus.serve(OrderSubmitCmd, q, (p) => {
      this.intent(p.symbol, p.botId);
      this.submits++;
      const existing = this.orders.get(p.clientOrderId);
      if (existing) return Promise.resolve(existing);
      const now = new Date().toISOString();
      const order: Order = {
        clientOrderId: p.clientOrderId,
        venueOrderId: String(this.orders.size + 1),
        accountId: ACCOUNT,
        exchangeId: p.exchangeId,
        botId: p.botId ?? null,
        symbol: p.symbol,
        side: p.side,
        type: p.type,
        quantity: p.quantity,
        price: p.price ?? null,
        state: 'OPEN',
        filled: '0',
        lastError: null,
        createdAt: now,
        updatedAt: now,
      };
      this.orders.set(order.clientOrderId, order);
      if (p.botId) this.byBot.set(p.botId, (this.byBot.get(p.botId) ?? new Set()).add(order.clientOrderId));
      if (p.type === 'limit') this.resting.set(p.symbol, (this.resting.get(p.symbol) ?? new Set()).add(order));
      // As the gateway does: the accepted order's event leaves with the reply, at the end of the turn (and
      // a market order's fill after it).
      this.bus.publishSoon(OrderAcceptedEvt, order, { correlationId: order.clientOrderId }, (err) => console.error(`accepted event: ${String(err)}`));
      if (p.type === 'market') {
        setImmediate(() => void this.fill(order, this.markets.get(p.symbol)!.price).catch((err: unknown) => console.error(`fill failed: ${String(err)}`)));
      }
      return Promise.resolve(order);
    });
    this.bus.serve(OrderCancelCmd, q, (p) => {
      const order = this.orders.get(p.clientOrderId);
      if (order) this.intent(order.symbol, order.botId);
      this.cancels++;
      if (!order) return Promise.reject(new Error(`unknown order ${p.clientOrderId}`));
      if (order.state === 'OPEN') {
        Object.assign(order, { state: 'CANCELED', updatedAt: new Date().toISOString() });
        this.bus.publishSoon(OrderCanceledEvt, { order, reason: p.reason }, { correlationId: order.clientOrderId }, (err) =>
          console.error(`canceled event: ${String(err)}`),
        );
      }
      return Promise.resolve(order);
    });
  }

  /** One tick of one market: the price moves, crossed orders fill (events published), then the ticker goes out. */
  async tick(market: Market): Promise<void> {
    // The tick is when the price moves at the venue: its fills and its ticker follow.
    market.lastTickAt = performance.now();
    const receivedAt = new Date().toISOString();
    market.price = Math.max(1, market.price * (1 + ((this.random() - 0.5) * 2 * MOVE) / 100));
    const events: Array<Promise<unknown>> = [];
    for (const order of this.resting.get(market.symbol) ?? []) {
      if (order.state !== 'OPEN') {
        this.resting.get(market.symbol)!.delete(order);
        continue;
      }
      const limit = Number(order.price);
      if ((order.side === 'buy' && market.price <= limit) || (order.side === 'sell' && market.price >= limit)) events.push(this.fill(order, limit));
    }
    if (this.measuring) this.largestBurst = Math.max(this.largestBurst, events.length);
    await Promise.all(events);
    const price = market.price.toFixed(2);
    this.bus.broadcast(
      TickerUpdatedMd,
      {
        exchangeId: EXCHANGE,
        symbol: market.symbol,
        bid: price,
        ask: price,
        last: price,
        tickSize: '0.01',
        stepSize: '0.00001',
        venueTime: receivedAt,
        receivedAt,
      },
      tickerKey(EXCHANGE, market.symbol),
    );
  }

  private async fill(order: Order, price: number): Promise<void> {
    const fill: OrderFill = {
      clientOrderId: order.clientOrderId,
      tradeId: String(++this.tradeSeq),
      price: price.toFixed(2),
      quantity: order.quantity,
      fee: '0',
      feeCurrency: 'USDT',
      at: new Date().toISOString(),
    };
    Object.assign(order, { state: 'FILLED', filled: order.quantity, updatedAt: fill.at });
    if (order.botId) this.filledAtTick.set(order.botId, this.markets.get(order.symbol)!.lastTickAt);
    this.fills.set(order.clientOrderId, [fill]);
    this.filled++;
    const { clientOrderId: _, ...event } = fill;
    await this.bus.publish(OrderFilledEvt, { order, fill: event });
  }

  private intent(symbol: string, botId: string | null | undefined): void {
    const market = this.markets.get(symbol);
    if (!this.measuring || !market?.lastTickAt) return;
    const ms = performance.now() - market.lastTickAt;
    this.latencies.push(ms);
    (botId && this.filledAtTick.get(botId) === market.lastTickAt ? this.afterFill : this.tickOnly).push(ms);
  }

  private random(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }
}

/** Count, mean and share under a few bounds of a prom-client histogram over the window (after − before). */
function windowHistogram(label: string, before: string, after: string, name: string, bounds = ['0.005', '0.01', '0.02', '0.05']): string {
  const value = (text: string, suffix: string, le?: string) => {
    for (const m of text.matchAll(new RegExp(`^${name}${suffix}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
      if (le === undefined || (m[1] ?? '').includes(`le="${le}"`)) return Number(m[2]);
    }
    return 0;
  };
  const delta = (suffix: string, le?: string) => value(after, suffix, le) - value(before, suffix, le);
  const count = delta('_count');
  const under = bounds.map((le) => `${((100 * delta('_bucket', le)) / count).toFixed(0)}% <= ${Number(le) * 1000} ms`);
  return `${label.padEnd(58)} n=${String(count).padStart(4)}  mean ${((1000 * delta('_sum')) / count).toFixed(2)} ms  (${under.join(', ')})`;
}

async function baselines(nc: NatsConnection, databaseUrl: string): Promise<{ nats: number[]; pg: number[] }> {
  const subject = `bench.echo.${process.pid}`;
  const sub = nc.subscribe(subject, { callback: (_err, msg) => void msg.respond(msg.data) });
  const nats: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await nc.request(subject, new Uint8Array(200), { timeout: 2000 });
    if (i >= 500) nats.push(performance.now() - t);
  }
  sub.unsubscribe();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const pgSample: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await client.query('SELECT 1');
    if (i >= 500) pgSample.push(performance.now() - t);
  }
  await client.end();
  return { nats, pg: pgSample };
}

/**
 * Each burst size's round trips (ms): `bursts` bursts, 100 ms apart, of that many messages published at
 * once to bench/raw-burst-worker.ts, timed until each comes back after its PostgreSQL write (`each`:
 * one write per message; `grouped`: one write per group, as bot-service groups a burst's steps).
 */
async function burstBaseline(nc: NatsConnection, databaseUrl: string, mode: 'each' | 'grouped', sizes: number[], bursts = 60): Promise<Map<number, number[]>> {
  const subject = `bench.burst.${process.pid}.${mode}`;
  const worker = fork(path.join(REPO_ROOT, 'bench', 'raw-burst-worker.ts'), [NATS_URL, databaseUrl, subject, mode], { stdio: 'inherit' });
  await new Promise<void>((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`bench/raw-burst-worker.ts exited (${code}) before it was ready`));
    worker.once('exit', exited);
    worker.once('message', () => {
      worker.off('exit', exited);
      resolve();
    });
  });
  const sentAt = new Float64Array(65536);
  let latencies: number[] = [];
  const sub = nc.subscribe(`${subject}.out`, {
    callback: (_err, msg) => {
      latencies.push(performance.now() - sentAt[msg.data[0]! + 256 * msg.data[1]!]!);
    },
  });
  await nc.flush();
  const out = new Map<number, number[]>();
  let seq = 0;
  try {
    for (const size of sizes) {
      latencies = [];
      for (let b = 0; b < bursts; b++) {
        const t = performance.now();
        for (let i = 0; i < size; i++) {
          const id = seq++ % 65536;
          sentAt[id] = t;
          nc.publish(`${subject}.in`, Uint8Array.of(id % 256, id >> 8));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      out.set(size, latencies);
    }
  } finally {
    sub.unsubscribe();
    worker.disconnect();
  }
  return out;
}

async function main(): Promise<void> {
  const bench = await createBenchEnvironment();
  const nc = await connect({ servers: NATS_URL });
  const services: ServiceProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const bus = new MessageBus(nc, busTopology(bench.namespace), 'exchange-gateway/bench', new JsonLogger('bench', 'warn').child('bus'));
    const gateway = new FakeGateway(bus);
    gateway.serve();
    const riskService = await startServiceProcess('risk-service', bench.env, await freePort(), 'bench');
    services.push(riskService);
    const profileDir = path.join(REPO_ROOT, '.garde', 'profiles', `bot-fleet-${bench.suffix}`);
    if (PROFILE) mkdirSync(profileDir, { recursive: true });
    const botService = await startServiceProcess(
      'bot-service',
      { ...bench.env, INSTANCE_ID: 'bench', ...(CONCURRENCY === undefined ? {} : { ENGINE_CONCURRENCY: String(CONCURRENCY) }) },
      await freePort(),
      'bench',
      {
        ...(PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
      },
    );
    services.push(botService);

    // Ticks at 1 Hz per symbol, spread over the second.
    [...gateway.markets.values()].forEach((market, i) => {
      setTimeout(
        () => timers.push(setInterval(() => void gateway.tick(market).catch((err: unknown) => console.error(`tick failed: ${String(err)}`)), 1000)),
        (1000 * i) / SYMBOLS,
      );
    });

    const created = Date.now();
    const symbols = [...gateway.markets.keys()];
    for (let start = 0; start < BOTS; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, BOTS - start) }, async (_, k) => {
          const i = start + k;
          const symbol = symbols[i % symbols.length]!;
          const price = gateway.markets.get(symbol)!.price;
          const id = `fleet-${i}`;
          const grid = i % 2 === 0;
          // Staggered: bots of one symbol differ in range and level count (i / 2 runs over the grid bots).
          const spread = STAGGERED ? 0.02 + 0.002 * ((i / 2) % 11) : 0.03;
          const levels = STAGGERED ? 8 + ((i / 2) % 5) : 10;
          const parameters = grid
            ? { lower: (price * (1 - spread)).toFixed(2), upper: (price * (1 + spread)).toFixed(2), levels, orderSize: '0.01' }
            : { quoteAmount: '10', intervalMinutes: 1, dropPercent: '0.2', takeProfitPercent: '0.5' };
          const reply = await bus.request(
            BotCreateCmd,
            { id, name: id, strategy: grid ? 'grid' : 'dca', exchangeId: EXCHANGE, symbol, parameters },
            { actor: operator },
            30_000,
          );
          if (!reply.ok) throw new Error(`bot ${id} not created: ${reply.error.code} ${reply.error.message}`);
          const started = await bus.request(BotStartCmd, { botId: id, reason: 'bench' }, { actor: operator }, 30_000);
          if (!started.ok) throw new Error(`bot ${id} not started: ${started.error.code} ${started.error.message}`);
        }),
      );
    }
    console.log(
      `created and started ${BOTS} bots (${BOTS / 2} grid with ${LADDERS} ladders, ${BOTS / 2} DCA) on ${SYMBOLS} symbols in ${((Date.now() - created) / 1000).toFixed(1)} s`,
    );
    const metrics = async () => (await fetch(`${botService.url}/metrics`)).text();
    for (;;) {
      const held = Number(/^garde_bot_leases_held(?:\{[^}]*\})? (\d+)/m.exec(await metrics())?.[1] ?? 0);
      if (held >= BOTS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`all ${BOTS} bots run by bot-service after ${((Date.now() - created) / 1000).toFixed(1)} s; warm-up ${WARMUP} s`);
    await new Promise((r) => setTimeout(r, WARMUP * 1000));

    const pid = botService.child.pid!;
    const before = processStats(pid);
    const riskBefore = processStats(riskService.child.pid!);
    const postgres = await postgresCpu(bench.databaseUrl);
    const postgresBefore = postgres?.();
    const counts = { submits: gateway.submits, cancels: gateway.cancels, filled: gateway.filled };
    const metricsBefore = await metrics();
    let peakRss = before.rssMb;
    gateway.measuring = true;
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const started = performance.now();
    for (let s = 0; s < SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = processStats(pid);
      peakRss = Math.max(peakRss, now.rssMb);
      if (VERBOSE) console.log(`  t=${s + 1}s rss ${now.rssMb.toFixed(0)} MB, intents so far ${gateway.latencies.length}`);
    }
    gateway.measuring = false;
    loopDelay.disable();
    const elapsed = (performance.now() - started) / 1000;
    // Taken now: the fleet keeps trading through the baselines below, and those orders are not the window's.
    const countsAfter = { submits: gateway.submits, cancels: gateway.cancels, filled: gateway.filled };
    const after = processStats(pid);
    const riskAfter = processStats(riskService.child.pid!);
    const postgresAfter = postgres?.();
    const metricsAfter = await metrics();

    const base = await baselines(nc, bench.databaseUrl);
    const burstSizes = [...new Set([1, Math.max(1, gateway.largestBurst)])];
    const bursts = await burstBaseline(nc, bench.databaseUrl, 'each', burstSizes);
    const grouped = await burstBaseline(nc, bench.databaseUrl, 'grouped', burstSizes);
    const steps = (text: string) => [...text.matchAll(/^garde_bot_strategy_steps_total\{([^}]*)\} (\S+)$/gm)].map((m) => ({ labels: m[1]!, n: Number(m[2]) }));
    const stepDelta = new Map<string, number>();
    for (const { labels, n } of steps(metricsAfter)) {
      const outcome = /outcome="([^"]+)"/.exec(labels)?.[1] ?? '?';
      const was = steps(metricsBefore).find((s) => s.labels === labels)?.n ?? 0;
      stepDelta.set(outcome, (stepDelta.get(outcome) ?? 0) + n - was);
    }

    console.log('');
    console.log(
      `bench/bot-fleet: ${BOTS} bots on one bot-service, ${SYMBOLS} symbols ticking at 1 Hz (moves within ±${MOVE} %, ${LADDERS} ladders), ${elapsed.toFixed(0)} s window (load average ${loadavg()[0]!.toFixed(2)})`,
    );
    const cpuMsPerFill = (1000 * (after.cpuSeconds - before.cpuSeconds)) / Math.max(1, countsAfter.filled - counts.filled);
    console.log(
      `  bot-service CPU            ${((after.cpuSeconds - before.cpuSeconds) / elapsed).toFixed(3)} cores (target <= 1); ${cpuMsPerFill.toFixed(2)} ms per fill, ticks included`,
    );
    console.log(`  bot-service RSS            peak ${peakRss.toFixed(0)} MB (target <= 500 MB)`);
    console.log(
      `  risk-service CPU           ${((riskAfter.cpuSeconds - riskBefore.cpuSeconds) / elapsed).toFixed(2)} cores (the fills' ledger and exposure, on the same machine)`,
    );
    if (postgresBefore !== undefined && postgresAfter !== undefined) {
      console.log(
        `  PostgreSQL CPU             ${((postgresAfter - postgresBefore) / elapsed).toFixed(2)} cores (all of it: bot-service's steps, risk-service's ledger)`,
      );
    }
    console.log(
      `  orders in the window       ${countsAfter.submits - counts.submits} submits, ${countsAfter.cancels - counts.cancels} cancels, ${countsAfter.filled - counts.filled} fills`,
    );
    console.log(
      `  strategy steps in window   ${[...stepDelta].map(([k, v]) => `${k} ${v}`).join(', ')} (${((stepDelta.get('stepped') ?? 0) / elapsed).toFixed(0)} stepped/s)`,
    );
    console.log(summary('  tick→intent (price move → order request at the gateway)', gateway.latencies) + '   (target p99 <= 20 ms)');
    for (const [label, sample, what] of [
      ['    of which: after a fill of that tick', gateway.afterFill, 'grid re-quotes, take-profits'],
      ['    of which: on the tick alone', gateway.tickOnly, 'DCA buys on their slot'],
    ] as const) {
      console.log(sample.length ? `${summary(label, sample)}   (${what})` : `${label.padEnd(58)} n=   0  (${what}: none in the window)`);
    }
    console.log(
      windowHistogram('  bot-service tick→intent (its own histogram, in the window)', metricsBefore, metricsAfter, 'garde_bot_tick_to_intent_seconds'),
    );
    console.log(
      `  this process's event-loop delay (the fake gateway's queueing): p50 ${(loopDelay.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(2)} ms`,
    );
    const lag = (q: string) =>
      Number(new RegExp(`^garde_nodejs_eventloop_lag_${q}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metricsAfter)?.[1] ?? NaN) * 1000;
    console.log(
      `  bot-service event-loop delay (prom-client, since its start): p50 ${lag('p50').toFixed(2)} ms, p99 ${lag('p99').toFixed(2)} ms, max ${lag('max').toFixed(2)} ms`,
    );
    console.log(summary('  baseline: raw NATS request/reply (200 B echo)', base.nats));
    console.log(summary('  baseline: raw PostgreSQL SELECT 1', base.pg));
    for (const [writes, samples] of [
      ['1 PG write each', bursts],
      ['grouped PG writes', grouped],
    ] as const) {
      for (const [size, sample] of samples) console.log(summary(`  baseline: burst of ${size} → process → ${writes} → back`, sample) + '   (every 100 ms)');
    }
    console.log(`  p50/p99 of tick→intent: ${percentile(gateway.latencies, 50).toFixed(2)} / ${percentile(gateway.latencies, 99).toFixed(2)} ms`);
  } finally {
    for (const t of timers) clearInterval(t);
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await bench.dispose(nc);
    await nc.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
