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
