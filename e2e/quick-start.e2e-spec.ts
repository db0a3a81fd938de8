import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT, runConsole, until } from '@garde/testing';

/**
 * The README's quick start as a newcomer lives it, with `npm start`'s own NATS (from PATH) and embedded
 * PostgreSQL in a home of its own (GARDE_HOME): the whole platform in paper mode, a second start beside
 * it refused, a run killed with SIGKILL followed by a start that stops what it left and carries on with
 * the same books at the platform and at the simulated venues, then Ctrl-C.
 * It takes the ports `npm start` takes (3100–3104, 4600, 4601, 4699): stop a local `npm start` first.
 */
const home = mkdtempSync(path.join(tmpdir(), 'garde-quick-start-'));
// As root, embedded PostgreSQL runs initdb as a user of its own, which must reach the data folder (mkdtemp makes it 0700).
chmodSync(home, 0o755);
/** The quick start's environment: nothing of the test run's NATS or PostgreSQL. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, GARDE_HOME: home, LOG_LEVEL: 'warn' }).filter(([k]) => !['NATS_URL', 'DATABASE_URL', 'GARDE_NAMESPACE'].includes(k)),
);
const READY = 'Ctrl-C stops everything.';
const START_TIMEOUT_MS = 150_000;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(): Run {
  const child = spawn(process.execPath, ['tools/start.mjs'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves once the run says it is up; rejects with its output if it exits or takes too long. */
async function ready(run: Run): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!run.output().includes(READY)) {
    if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const tokens = () => JSON.parse(readFileSync(path.join(home, 'tokens.json'), 'utf8')) as Record<'viewer' | 'operator' | 'risk' | 'admin', string>;
const console = (...args: string[]) => runConsole([...args, '--json'], { GARDE_API_URL: 'http://127.0.0.1:3100', GARDE_TOKEN: tokens().admin });
const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;
const recorded = () => JSON.parse(readFileSync(path.join(home, 'running.json'), 'utf8')) as { pid: number; processes: Array<{ name: string; pid: number }> };
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start (the quick start)', () => {
  let first: Run | undefined;
  let second: Run | undefined;
  afterAll(async () => {
    // Whatever a failed step left running.
    for (const run of [first, second]) if (run && run.child.exitCode === null) run.child.kill('SIGINT');
    await Promise.all([first?.exited, second?.exited]);
    if (existsSync(path.join(home, 'running.json'))) for (const p of recorded().processes) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
  }, 60_000);

  it(
    'starts the whole platform in paper mode: demo bots running on the simulated venues, a manual order resting there',
    async () => {
      first = npmStart();
      await ready(first);
      const { bots } = json<{ bots: Array<{ id: string; state: string }> }>(await console('bot:status', '--all'));
      expect(bots.map((b) => [b.id, b.state]).sort()).toEqual([
        ['demo-dca-btc', 'RUNNING'],
        ['demo-dca-eth', 'RUNNING'],
        ['demo-grid-btc', 'RUNNING'],
        ['demo-grid-sol', 'RUNNING'],
      ]);
      const order = await console(
        'order:submit',
        '--exchange=binance',
        '--symbol=BTC/USDT',
        '--side=buy',
        '--type=limit',
        '--quantity=0.001',
        '--price=50000',
        '--client-order-id=qs-kept',
      );
      expect([order.code, json<{ state: string }>(order).state]).toEqual([0, 'OPEN']);
      // The ledger opens from the venues at risk-service's first periodic run (a minute in): opened now.
      expect((await console('portfolio:reconcile', '--apply', '--reason=quick-start test: open the ledger')).code).toBe(0);
    },
    START_TIMEOUT_MS + 30_000,
  );

  it('refuses a second run beside the first, naming it, and leaves the first alone', async () => {
    const beside = npmStart();
    expect(await beside.exited).toBe(1);
    expect(beside.output()).toContain(`Garde is already running from this folder (npm start, pid ${first!.child.pid})`);
    expect(recorded().pid).toBe(first!.child.pid);
    expect((await console('bot:status', '--all')).code).toBe(0);
  }, 60_000);

  it(
    'after a run killed with SIGKILL, the next one stops what it left and carries on with the same books',
    async () => {
      const left = recorded().processes;
      first!.child.kill('SIGKILL');
      await first!.exited;
      expect(left.filter((p) => alive(p.pid)).map((p) => p.name)).toEqual(left.map((p) => p.name));

      second = npmStart();
      await ready(second);
      expect(second.output()).toContain(`a previous npm start (pid ${first!.child.pid}) ended without stopping`);
      expect(left.filter((p) => alive(p.pid))).toEqual([]);
      // The venue still holds the order (asked, not remembered), and the ledger still matches the venues.
      const resolved = await console('exchange:order:resolve', 'qs-kept');
      expect([resolved.code, json<{ state: string }>(resolved).state]).toEqual([0, 'OPEN']);
      // Asked again while a demo bot's fill is still being booked (a difference then is a fill in flight).
      const reconciled = await until(
        () => console('portfolio:reconcile'),
        (r) => r.code === 0,
        30_000,
        3_000,
      );
      const { accounts } = json<{ accounts: Array<{ accountId: string; status: string }> }>(reconciled);
      expect(accounts.map((a) => [a.accountId, a.status]).sort()).toEqual([
        ['paper-binance', 'MATCHED'],
        ['paper-kraken', 'MATCHED'],
      ]);
      expect(json<{ bots: Array<{ state: string }> }>(await console('bot:status', '--all')).bots.map((b) => b.state)).toEqual(Array(4).fill('RUNNING'));
    },
    START_TIMEOUT_MS + 60_000,
  );

  it('Ctrl-C stops everything it started', async () => {
    const started = recorded().processes;
    second!.child.kill('SIGINT');
    expect(await second!.exited).toBe(0);
    expect(second!.output().trimEnd().endsWith('[garde] stopped')).toBe(true);
    expect(started.filter((p) => alive(p.pid)).map((p) => p.name)).toEqual([]);
    expect(existsSync(path.join(home, 'running.json'))).toBe(false);
  }, 60_000);
});
