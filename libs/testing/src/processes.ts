import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ProcessOptions {
  /** The entry point, when it is not `apps/<name>/src/main.ts`. */
  script?: string;
  /** What answers 2xx once it is ready (default `/health/ready`). */
  readyPath?: string;
  /** Extra node flags (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

/**
 * Starts a service as its own process, the way production runs it (`node --import tools/register.mjs
 * apps/<name>/src/main.ts`), on a fixed port, and waits until /health/ready answers 200.
 * Its logs go to .garde/test-logs/<label>-<name>.log.
 */
export async function startServiceProcess(
  name: string,
  env: Record<string, string>,
  port: number,
  label = 'e2e',
  options: ProcessOptions = {},
): Promise<ServiceProcess> {
  const dir = path.join(REPO_ROOT, '.garde', 'test-logs');
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `${label}-${name}.log`));
  const script = options.script ?? `apps/${name}/src/main.ts`;
  const child = spawn(process.execPath, ['--no-warnings', ...(options.nodeArgs ?? []), '--import', './tools/register.mjs', script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, HTTP_PORT: String(port), LOG_LEVEL: env.LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start-up; see .garde/test-logs/${label}-${name}.log`);
    const ok = await fetch(`${url}${options.readyPath ?? '/health/ready'}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within 30 s; see .garde/test-logs/${label}-${name}.log`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    url,
    child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs bin/console like an operator does; resolves with its exit code and output. */
export function runConsole(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO_ROOT, 'bin', 'console'), args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Polls `probe` until `ok` holds or the time is up; returns the last value. */
export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
