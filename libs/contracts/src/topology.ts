import type { EventDef, MarketDataDef, RequestDef, SignalDef } from './catalog.js';

/**
 * Every subject, stream and bucket name comes from here (never a string literal elsewhere).
 *
 * A namespace isolates one deployment or one test suite on a shared NATS server: subjects get the
 * prefix `<namespace>.`, streams and buckets `<namespace>_`. Production uses the empty namespace.
 */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

export interface BusTopology {
  readonly namespace: string;
  /** Subject of a request or event; `key` is appended for keyed events (e.g. a bot id). */
  subject(def: RequestDef | EventDef | MarketDataDef | SignalDef, key?: string): string;
  /** Stream that keeps every event for the audit trail. */
  readonly auditStream: string;
  /** The subjects the audit stream captures: every `*.evt.>` of this namespace. */
  readonly auditSubjects: string[];
  /** Durable consumer of the audit-service on the audit stream. */
  readonly auditConsumer: string;
  /** Durable consumer of risk-service's ledger on the audit stream (the fills, OrderFilledEvt). */
  readonly ledgerConsumer: string;
  /** KV bucket with the current kill-switch state per scope (key = scope with `:` as `.`). */
  readonly killSwitchBucket: string;
  /** KV bucket with bot leases (used from the bots issue on). */
  readonly botLeasesBucket: string;
  /** KV bucket with the risk limits in force per scope (key = scope with `:` as `.`), written by risk-service. */
  readonly riskLimitsBucket: string;
  /** Queue group of a service's request handlers. */
  queueGroup(service: string): string;
}

export function busTopology(namespace = ''): BusTopology {
  if (namespace !== '' && !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`invalid bus namespace "${namespace}": letters, digits, '_' or '-', at most 32`);
  }
  const subjectPrefix = namespace ? `${namespace}.` : '';
  const namePrefix = namespace ? `${namespace}_` : '';
  return {
    namespace,
    subject: (def, key) => `${subjectPrefix}${def.type}${key === undefined ? '' : `.${key}`}`,
    auditStream: `${namePrefix}AUDIT`,
    auditSubjects: [`${subjectPrefix}*.evt.>`],
    auditConsumer: 'audit-service',
    ledgerConsumer: 'risk-service-ledger',
    killSwitchBucket: `${namePrefix}KILL_SWITCH`,
    botLeasesBucket: `${namePrefix}BOT_LEASES`,
    riskLimitsBucket: `${namePrefix}RISK_LIMITS`,
    queueGroup: (service) => `${namePrefix}${service}`,
  };
}

/** KV keys may not contain `:`; scopes are stored as `global`, `exchange.<id>`, `bot.<id>`. */
export const killSwitchKey = (scope: string): string => scope.replace(':', '.');
export const scopeFromKillSwitchKey = (key: string): string => key.replace('.', ':');
