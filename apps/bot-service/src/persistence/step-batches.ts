/**
 * How the strategy engine's step statements (`bot_engine_round`) are grouped (libs/platform `Batcher`):
 * each bot's steps and send fences go to one of STEP_CONNECTIONS connections (by its id), whose calls
 * made together, or while its statement is in flight, share its next statement, of at most
 * STEP_BATCH_MAX calls (a tick wakes ~100 bots of its market). So four statements are in flight at
 * most: a tick that fills many bots' orders is split over several, rather than its later steps waiting
 * for one long statement (bench/bot-fleet: p99 ~90 → ~63 ms with four instead of two).
 * bench/raw-burst-worker groups its writes with the same limits.
 */
export const STEP_CONNECTIONS = 4;
export const STEP_BATCH_MAX = 200;
