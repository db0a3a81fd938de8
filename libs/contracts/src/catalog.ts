import type { z } from 'zod';

/** Severity of an event in the audit trail; `audit:errors` lists `error` and `critical`. */
export type EventLevel = 'info' | 'warning' | 'error' | 'critical';

/** A request/reply message (`cmd` changes state, `qry` reads). Its `type` is its subject without namespace. */
export interface RequestDef<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly kind: 'cmd' | 'qry';
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: P;
  readonly result: R;
}

/** A fact, published to JetStream (stream AUDIT). Its `type` is its subject without namespace or key. */
export interface EventDef<P extends z.ZodType = z.ZodType> {
  readonly kind: 'evt';
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: P;
  /** Its level in the audit trail; the worst one when `levelOf` grades each event. */
  readonly level: EventLevel;
  /** The level of one event from its payload, for a type whose events are not all alike (a recovery is not an error). */
  readonly levelOf?: (payload: z.infer<P>) => EventLevel;
}

/**
 * A market-data stream (`<context>.md.<aggregate>.<action>`): high-rate facts on core NATS, at most
 * once, never in the audit trail (its subjects are not `*.evt.>`). A late or missed one is replaced by
 * the next; consumers judge a value by its age.
 */
export interface MarketDataDef<P extends z.ZodType = z.ZodType> {
  readonly kind: 'md';
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: P;
}

/**
 * A signal (`<context>.sig.<aggregate>.<action>`): a fact about to be recorded, announced on core NATS
 * so that others can act before it is (at most once, never in the audit trail: the recorded fact's own
 * event is). Only for acting in the safe direction, with the record confirming or ending it.
 */
export interface SignalDef<P extends z.ZodType = z.ZodType> {
  readonly kind: 'sig';
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: P;
}

export type PayloadOf<D extends { payload: z.ZodType }> = z.infer<D['payload']>;
export type ResultOf<D extends RequestDef> = z.infer<D['result']>;

const TYPE_PATTERN = /^(risk|bot|gateway|audit)\.(cmd|qry|evt|md|sig)\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;

function checkType(type: string, kind: string): void {
  if (!TYPE_PATTERN.test(type) || type.split('.')[1] !== kind) {
    throw new Error(`contract type "${type}" is not <context>.${kind}.<aggregate>.<action>`);
  }
}

export function defineRequest<P extends z.ZodType, R extends z.ZodType>(def: {
  type: string;
  schemaVersion?: number;
  payload: P;
  result: R;
}): RequestDef<P, R> {
  const kind = def.type.split('.')[1] as 'cmd' | 'qry';
  checkType(def.type, kind === 'qry' ? 'qry' : 'cmd');
  return { kind, type: def.type, schemaVersion: def.schemaVersion ?? 1, payload: def.payload, result: def.result };
}

export function defineMarketData<P extends z.ZodType>(def: { type: string; schemaVersion?: number; payload: P }): MarketDataDef<P> {
  checkType(def.type, 'md');
  return { kind: 'md', type: def.type, schemaVersion: def.schemaVersion ?? 1, payload: def.payload };
}

export function defineSignal<P extends z.ZodType>(def: { type: string; schemaVersion?: number; payload: P }): SignalDef<P> {
  checkType(def.type, 'sig');
  return { kind: 'sig', type: def.type, schemaVersion: def.schemaVersion ?? 1, payload: def.payload };
}

export function defineEvent<P extends z.ZodType>(def: {
  type: string;
  schemaVersion?: number;
  payload: P;
  level?: EventLevel;
  levelOf?: (payload: z.infer<P>) => EventLevel;
}): EventDef<P> {
  checkType(def.type, 'evt');
  return {
    kind: 'evt',
    type: def.type,
    schemaVersion: def.schemaVersion ?? 1,
    payload: def.payload,
    level: def.level ?? 'info',
    ...(def.levelOf && { levelOf: def.levelOf }),
  };
}
