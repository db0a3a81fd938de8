/**
 * The strategies a bot can run, by the name stored with the bot (`strategy`), so a caller can validate
 * a bot definition and run its steps without knowing each strategy.
 */
import { dcaOpenOrders, initialDcaState, parseDcaParameters, stepDca, type DcaParams, type DcaState } from './dca.js';
import { gridOpenOrders, initialGridState, parseGridParameters, stepGrid, type GridParams, type GridState } from './grid.js';
import type { ParametersResult, StrategyInput, StrategyStep } from './strategy.js';

export interface Strategy<P, S> {
  readonly name: string;
  /** The stored `parameters`, parsed, or every error in them. */
  parseParameters(raw: unknown): ParametersResult<P>;
  /** The state before the first step. */
  initialState(botId: string, symbol: string): S;
  /** One run: the fills and ended orders since the last step, and the market now. */
  step(params: P, input: StrategyInput<S>): StrategyStep<S>;
  /** Client order ids the strategy counts as open. */
  openOrders(state: S): string[];
}

export const gridStrategy: Strategy<GridParams, GridState> = {
  name: 'grid',
  parseParameters: parseGridParameters,
  initialState: initialGridState,
  step: stepGrid,
  openOrders: gridOpenOrders,
};

export const dcaStrategy: Strategy<DcaParams, DcaState> = {
  name: 'dca',
  parseParameters: parseDcaParameters,
  initialState: initialDcaState,
  step: stepDca,
  openOrders: dcaOpenOrders,
};

export const STRATEGIES = { grid: gridStrategy, dca: dcaStrategy } as const;
export type StrategyName = keyof typeof STRATEGIES;
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

export function isStrategyName(name: string): name is StrategyName {
  return Object.hasOwn(STRATEGIES, name);
}

/** Validates a bot definition's strategy and parameters: what `bot:create` answers for a bad one. */
export function parseStrategyParameters(strategy: string, raw: unknown): ParametersResult<GridParams | DcaParams> {
  if (!isStrategyName(strategy)) return { ok: false, errors: [`unknown strategy "${strategy}" (known: ${STRATEGY_NAMES.join(', ')})`] };
  return STRATEGIES[strategy].parseParameters(raw);
}
