import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ScopeState, scopeFromKillSwitchKey, type BusTopology } from '@garde/contracts';
import { effectiveState, type ScopeTarget, type TradingState } from '@garde/domain';
import { openBucket } from './jetstream-setup.js';
import { BucketFollower } from './bucket-follower.js';
import type { ContextLogger } from './logger.js';

export interface ScopeChange {
  scope: string;
  state: ScopeState;
  previous: ScopeState | undefined;
}

/**
 * A process's view of the kill switch: the KV bucket `KILL_SWITCH`, read in full and then watched.
 *
 * Fail-closed: `known` is false until the bucket has been read since the last (re)connect and holds
 * the `global` scope (risk-service writes it on every start: an empty bucket means risk-service never
 * ran, not "all clear"); it goes false again as soon as the connection drops or the watch breaks.
 * Callers must refuse to trade while it is false (`RISK_STATE_UNKNOWN`).
 */
export class KillSwitchWatcher {
  private readonly states = new Map<string, { state: ScopeState; revision: number }>();
  private readonly changeListeners: Array<(change: ScopeChange) => void> = [];
  private readonly knownListeners: Array<(known: boolean) => void> = [];
  private readonly follower: BucketFollower;
  private isKnown = false;
  private snapshotRead = false;

  constructor(
    nc: NatsConnection,
    topology: BusTopology,
    private readonly log: ContextLogger,
  ) {
    let kv: KV | undefined;
    this.follower = new BucketFollower(
      nc,
      async () => (kv ??= await openBucket(nc, topology.killSwitchBucket, { history: 16 })),
      { entry: (entry) => this.apply(entry), synced: (synced) => this.synced(synced) },
      log,
      'kill-switch',
    );
  }

  /** Reads the bucket and starts watching; resolves once the state is known. */
  start(): Promise<void> {
    return this.follower.start();
  }

  get known(): boolean {
    return this.isKnown;
  }

  /** The recorded state of one scope (undefined: never set, i.e. ACTIVE). */
  get(scope: string): ScopeState | undefined {
    return this.states.get(scope)?.state;
  }

  /** Every recorded scope state. */
  all(): ScopeState[] {
    return [...this.states.values()].map((s) => s.state);
  }

  /** Effective state for an order or a bot: the most restrictive covering scope (DESIGN §3). */
  effective(target: ScopeTarget): { state: TradingState; imposedBy?: ScopeState } {
    const result = effectiveState(target, (scope) => this.get(scope));
    return result.imposedBy ? { state: result.state, imposedBy: this.get(result.imposedBy.scope) } : { state: result.state };
  }

  /** Called for every change of a scope's state, in order. */
  onChange(listener: (change: ScopeChange) => void): void {
    this.changeListeners.push(listener);
  }

  /** Called when the view becomes known or unknown. */
  onKnownChange(listener: (known: boolean) => void): void {
    this.knownListeners.push(listener);
  }

  stop(): Promise<void> {
    this.follower.stop();
    return Promise.resolve();
  }

  private setKnown(known: boolean): void {
    if (this.isKnown === known) return;
    this.isKnown = known;
    if (!known) this.log.warn('kill-switch state unknown: refusing to trade until it is read again');
    else this.log.info('kill-switch state known', { scopes: this.states.size });
    for (const l of this.knownListeners) l(known);
  }

  /** Fail-closed: known only once the bucket has been read since the last (re)connect and holds `global`. */
  private synced(synced: boolean): void {
    this.snapshotRead = synced;
    this.setKnown(synced && this.states.has('global'));
    if (synced && !this.states.has('global')) this.log.warn('kill-switch bucket has no global scope: risk-service has not published its state yet');
  }

  private apply(entry: KvEntry): void {
    const scope = scopeFromKillSwitchKey(entry.key);
    const current = this.states.get(scope);
    if (current && current.revision >= entry.revision) return;
    if (entry.operation !== 'PUT') {
      // A purged or deleted key: the scope falls back to ACTIVE (only risk-service writes here).
      this.states.delete(scope);
      return;
    }
    const parsed = ScopeState.safeParse(entry.json());
    if (!parsed.success) {
      this.log.error('invalid kill-switch entry ignored', { key: entry.key, revision: entry.revision });
      return;
    }
    this.states.set(scope, { state: parsed.data, revision: entry.revision });
    if (scope === 'global' && this.snapshotRead) this.setKnown(true);
    if (current?.state.state !== parsed.data.state) {
      for (const l of this.changeListeners) l({ scope, state: parsed.data, previous: current?.state });
    }
  }
}
