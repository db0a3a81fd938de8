import { existsSync, readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** Percentile of a sample (nearest rank), in the sample's unit. */
export function percentile(sample: number[], p: number): number {
  if (!sample.length) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const ms = (ns: bigint): number => Number(ns) / 1e6;

export function summary(name: string, sampleMs: number[]): string {
  const f = (v: number) => `${v.toFixed(2)} ms`.padStart(10);
  return `${name.padEnd(58)} n=${String(sampleMs.length).padStart(4)}  p50 ${f(percentile(sampleMs, 50))}  p99 ${f(percentile(sampleMs, 99))}  max ${f(Math.max(...sampleMs))}`;
}

/**
 * Count, mean and share of observations under a few bounds (seconds, as the buckets' `le`), from a
 * prom-client histogram's text; `labels` picks the series (a substring of its label set).
 */
export function histogramLine(label: string, text: string, name: string, labels: string, bounds = ['0.005', '0.01', '0.025']): string {
  const value = (suffix: string, extra = '') => {
    const re = new RegExp(`^${name}${suffix}\\{([^}]*)\\} (\\S+)$`, 'gm');
    for (const m of text.matchAll(re)) if (m[1]!.includes(labels) && m[1]!.includes(extra)) return Number(m[2]);
    return NaN;
  };
  const count = value('_count');
  const under = (le: string) => `${((100 * value('_bucket', `le="${le}"`)) / count).toFixed(0)}% <= ${Number(le) * 1000} ms`;
  return `${label.padEnd(58)} n=${String(count).padStart(4)}  mean ${((1000 * value('_sum')) / count).toFixed(2)} ms  (${bounds.map(under).join(', ')})`;
}

/** A `--name=value` argument of the benchmark's command line. */
export const argValue = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
/** A numeric `--name=N` argument, or `fallback`. */
export const arg = (name: string, fallback: number): number => Number(argValue(name) ?? fallback);

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

/** The fields of /proc/<pid>/stat after the command name (so the state is [0], the parent's pid [1], utime [11]). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A process's CPU time so far (user + system, seconds) and its resident memory now (MB), from /proc. */
export function processStats(pid: number): { cpuSeconds: number; rssMb: number } {
  const fields = statFields(pid);
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuSeconds, rssMb: Number(rss) / 1024 };
}

/**
 * CPU seconds so far of the whole PostgreSQL server on this machine: its postmaster, every process it runs
 * now, and those it ran and reaped (the postmaster's children's times) — so a connection opened or closed
 * during a window still counts. Found through this benchmark's own connection; undefined when PostgreSQL
 * does not run on this machine (its processes are not in /proc).
 */
export async function postgresCpu(databaseUrl: string): Promise<(() => number) | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let postmaster: number;
  try {
    const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // Read while the connection is open: its server process is gone once it ends.
    if (!existsSync(`/proc/${backend}/stat`)) return undefined;
    postmaster = Number(statFields(backend)[1]);
  } finally {
    await client.end();
  }
  return () => {
    const own = statFields(postmaster);
    // utime, stime, and its reaped children's cutime, cstime
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = statFields(Number(entry));
        if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // exited meanwhile: its time is in the postmaster's children's times
      }
    }
    return ticks / CLK_TCK;
  };
}
