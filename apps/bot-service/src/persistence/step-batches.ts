/**
 * How the strategy engine's step statements (`bot_engine_steps`) are grouped (libs/platform `Batcher`):
 * at most 200 steps a statement (a tick wakes ~100 bots of its market), four statements in flight, each
 * on a pooled connection. Four side by side: a tick that fills many bots' orders is split over several
 * statements, rather than its later steps waiting for one long statement (bench/bot-fleet: p99 ~90 →
 * ~63 ms). bench/raw-burst-worker groups its writes with the same limits.
 */
export const STEP_BATCH_LIMITS = { maxBatch: 200, maxInFlight: 4 } as const;
