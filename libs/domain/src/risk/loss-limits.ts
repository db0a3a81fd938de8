/**
 * The automatic kill switch's triggers (DESIGN §3): the loss limits on the equity of a bot or of the
 * firm (`maxDrawdown`, `maxDailyLoss`, see `pnl-ledger.ts`), and the runaway bot (more than
 * `maxDenialsPerMinute` orders denied, or more than `maxFillsPerMinute` fills, within one minute). Pure:
 * the ledger, the counts, the limits and the time come in; what to halt, and why, goes out. Deciding
 * whether the scope is already halted, and halting it, is risk-service's.
 *
 * The triggers are levels, not edges: as long as a figure is beyond its limit, its scope is to be
 * halted. A person who deactivates the scope without raising the limit (or without the figure coming
 * back within it) sees it halted again.
 */
import { Decimal } from '../decimal-math.js';
import { botScope, globalScope } from '../kill-switch.js';
import { FIRM_SCOPE, botLimitScope, ownLossLimit, runawayLimit, type AutoHaltLimitName, type LimitLookup } from './limits.js';
import type { EquityFigures, PnlLedger } from './pnl-ledger.js';

/** The runaway counts are over the last minute. */
export const RUNAWAY_WINDOW_MS = 60_000;

/**
 * Denials that say nothing of the bot's own behaviour — the platform's state (a kill switch, a state
 * risk-service does not know yet) or the venue's (no fresh price, no steps) — and so do not count
 * towards `maxDenialsPerMinute`: every bot gets them at once, and halting them all would be noise.
 */
export const DENIALS_NOT_COUNTED_AS_RUNAWAY: ReadonlySet<string> = new Set([
  'KILL_SWITCH_HALTED',
  'KILL_SWITCH_REDUCING',
  'RISK_STATE_UNKNOWN',
  'LIMITS_UNKNOWN',
  'EXPOSURE_UNKNOWN',
  'REFERENCE_PRICE_MISSING',
  'REFERENCE_PRICE_STALE',
  'INSTRUMENT_STEPS_UNKNOWN',
]);

/** Does a denial with this reason count towards the bot's maxDenialsPerMinute? */
export const countsAsRunawayDenial = (reason: string): boolean => !DENIALS_NOT_COUNTED_AS_RUNAWAY.has(reason);

/** Fills and denials per bot over the last `windowMs`, by the times they happened. */
export class BotActivity {
  private readonly fills = new Map<string, number[]>();
  private readonly denials = new Map<string, number[]>();

  constructor(readonly windowMs: number = RUNAWAY_WINDOW_MS) {}

  recordFill(botId: string, at: number): void {
    this.record(this.fills, botId, at);
  }

  recordDenial(botId: string, at: number): void {
    this.record(this.denials, botId, at);
  }

  /** Fills of the bot that happened within the window ending at `now` (later ones included: another clock). */
  fillsWithin(botId: string, now: number): number {
    return count(this.fills.get(botId), now - this.windowMs);
  }

  denialsWithin(botId: string, now: number): number {
    return count(this.denials.get(botId), now - this.windowMs);
  }

  /** The bots with fills or denials within the window ending at `now`. */
  bots(now: number): string[] {
    const bots = new Set<string>();
    for (const map of [this.fills, this.denials]) for (const [botId, times] of map) if (count(times, now - this.windowMs) > 0) bots.add(botId);
    return [...bots].sort();
  }

  /** Forgets what is older than the window ending at `now`. */
  sweep(now: number): void {
    for (const map of [this.fills, this.denials]) {
      for (const [botId, times] of map) {
        const kept = times.filter((t) => t > now - this.windowMs);
        if (kept.length) map.set(botId, kept);
        else map.delete(botId);
      }
    }
  }

  private record(map: Map<string, number[]>, botId: string, at: number): void {
    const times = map.get(botId) ?? [];
    times.push(at);
    // Arrive roughly in order: drop from the front what is older than the window at this time.
    while (times.length > 0 && times[0]! <= at - this.windowMs) times.shift();
    map.set(botId, times);
  }
}

const count = (times: number[] | undefined, after: number): number => (times ?? []).filter((t) => t > after).length;

export type AutoHaltTrigger = 'drawdown' | 'daily-loss' | 'runaway-denials' | 'runaway-fills';
export const AUTO_HALT_TRIGGERS: readonly AutoHaltTrigger[] = ['drawdown', 'daily-loss', 'runaway-denials', 'runaway-fills'];

/** A scope to halt, and why. */
export interface AutoHalt {
  /** The kill-switch scope: `bot:<botId>`, or `global` for the firm. */
  readonly scope: string;
  readonly trigger: AutoHaltTrigger;
  readonly limitName: AutoHaltLimitName;
  /** The limit scope that sets the limit crossed. */
  readonly limitScope: string;
  /** The figure beyond its limit (a drawdown or a loss in quote, or a count). */
  readonly value: string;
  readonly limit: string;
  /** For people and the audit trail: "automatic: <trigger> <figures> exceeds <limit> for <scope>". */
  readonly reason: string;
}

export interface AutoHaltInput {
  readonly ledger: PnlLedger;
  readonly activity: BotActivity;
  readonly limits: LimitLookup;
  /** Epoch ms. */
  readonly now: number;
  /**
   * The bots to judge: those whose figures or counts moved since the last judgment (a fill, a denial).
   * Every bot when absent (their marks moved, or their limits). The firm is always judged.
   */
  readonly bots?: Iterable<string>;
}

/**
 * Every scope to halt now, each once, with the first trigger found (drawdown, daily loss, runaway
 * fills, runaway denials): the firm's (→ `global`) first, then the bots' in id order (of `bots` only,
 * when given). A figure is beyond its limit when strictly greater than it.
 */
export function autoHalts(input: AutoHaltInput): AutoHalt[] {
  const { ledger, activity, limits, now } = input;
  const halts: AutoHalt[] = [];
  const firm = lossHalt(() => ledger.firmFigures(now), FIRM_SCOPE, globalScope(), 'the firm', limits);
  if (firm) halts.push(firm);
  const bots = new Set(input.bots ?? [...ledger.bots(), ...activity.bots(now)]);
  for (const botId of [...bots].sort()) {
    const scope = botScope(botId);
    const halt =
      lossHalt(() => ledger.holderFigures(botId, now), botLimitScope(botId), scope, scope, limits) ??
      runawayHalt('runaway-fills', 'maxFillsPerMinute', activity.fillsWithin(botId, now), 'fills', botId, limits) ??
      runawayHalt('runaway-denials', 'maxDenialsPerMinute', activity.denialsWithin(botId, now), 'orders denied', botId, limits);
    if (halt) halts.push(halt);
  }
  return halts;
}

/** `figuresOf` is valued only when the scope has a loss limit (most have none: no pass over their positions). */
function lossHalt(figuresOf: () => EquityFigures, limitScope: string, scope: string, whose: string, limits: LimitLookup): AutoHalt | undefined {
  const drawdown = ownLossLimit('maxDrawdown', limitScope, limits);
  const daily = ownLossLimit('maxDailyLoss', limitScope, limits);
  if (!drawdown && !daily) return undefined;
  const figures = figuresOf();
  const currency = figures.currency ? ` ${figures.currency}` : '';
  if (drawdown && figures.drawdown.gt(drawdown.value)) {
    return {
      scope,
      trigger: 'drawdown',
      limitName: 'maxDrawdown',
      limitScope,
      value: figures.drawdown.toString(),
      limit: drawdown.value.toString(),
      reason: `automatic: drawdown ${formatAmount(figures.drawdown)}${currency} from peak ${formatAmount(figures.peak)} (equity ${formatAmount(figures.equity)}) exceeds maxDrawdown ${formatLimit(drawdown.value)} for ${whose}`,
    };
  }
  const loss = dailyLossOf(figures.dailyPnl);
  if (daily && loss.gt(daily.value)) {
    return {
      scope,
      trigger: 'daily-loss',
      limitName: 'maxDailyLoss',
      limitScope,
      value: loss.toString(),
      limit: daily.value.toString(),
      reason: `automatic: daily loss ${formatAmount(loss)}${currency} since 00:00 UTC exceeds maxDailyLoss ${formatLimit(daily.value)} for ${whose}`,
    };
  }
  return undefined;
}

function runawayHalt(
  trigger: 'runaway-fills' | 'runaway-denials',
  name: 'maxFillsPerMinute' | 'maxDenialsPerMinute',
  counted: number,
  what: string,
  botId: string,
  limits: LimitLookup,
): AutoHalt | undefined {
  const limit = runawayLimit(name, botId, limits);
  if (!limit || counted <= limit.value) return undefined;
  const scope = botScope(botId);
  return {
    scope,
    trigger,
    limitName: name,
    limitScope: limit.scope,
    value: String(counted),
    limit: String(limit.value),
    reason: `automatic: runaway bot: ${counted} ${what} in the last minute exceeds ${name} ${limit.value}${limit.scope === scope ? '' : ` (${limit.scope})`} for ${scope}`,
  };
}

/** The loss of a day: minus its PnL when negative, else zero. */
export const dailyLossOf = (dailyPnl: Decimal): Decimal => (dailyPnl.isNegative() ? dailyPnl.negated() : Decimal.ZERO);

/** An amount for people: rounded half-up to two decimals, thousands grouped with commas (`-1,250.00`). */
export function formatAmount(value: Decimal): string {
  return group(value.round(2, 'half-up').toFixed(2));
}

/** A limit as it was set, thousands grouped (`1,000`, `0.5`). */
export function formatLimit(value: Decimal): string {
  return group(value.toString());
}

function group(plain: string): string {
  const negative = plain.startsWith('-');
  const [int, frac] = (negative ? plain.slice(1) : plain).split('.') as [string, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${frac === undefined ? '' : `.${frac}`}`;
}
