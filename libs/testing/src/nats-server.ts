import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes.js';

export interface PrivateNatsServer {
  url: string;
  /** What the server logged since it last (re)started (permission violations among it). */
  log(): string;
  /** Stops the server and starts it again on the same port and data: its clients reconnect. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A nats-server of the suite's own (JetStream on, data in a temporary directory) with `config` as its
 * configuration file: for what the shared server cannot show, such as its users' permissions.
 */
export async function startNatsServer(config: string): Promise<PrivateNatsServer> {
  const bin = findNatsServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'garde-nats-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'nats.conf'), config);
  const logPath = path.join(dir, 'nats.log');
  /** Where the current run's lines start in the log file (restarts append to it). */
  let from = 0;
  const log = () => readFileSync(logPath, 'utf8').slice(from);
  const args = ['-c', path.join(dir, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'data')];
  const launch = async (): Promise<ChildProcess> => {
    const out = openSync(logPath, 'a');
    from = fstatSync(out).size;
    const child = spawn(bin, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    const deadline = Date.now() + 10_000;
    while (!log().includes('Server is ready')) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}:\n${log()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server not ready within 10 s:\n${log()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return child;
  };
  const halt = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  let child = await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    log,
    restart: async () => {
      await halt(child);
      child = await launch();
    },
    stop: async () => {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findNatsServer(): string {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('no nats-server binary: install it (Debian/Ubuntu: `sudo apt-get install nats-server`); .ci/run does');
}
