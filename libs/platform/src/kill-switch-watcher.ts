import type { KV, KvEntry } from '@nats-io/kv';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Envelope, KillSwitchActivatingSig, ScopeState, scopeFromKillSwitchKey, type BusTopology, type KillSwitchActivating } from '@garde/contracts';
import { effectiveState, moreRestrictive, type ScopeTarget, type TradingState } from '@garde/domain';
import { openBucket } from './jetstream-setup.js';
import { BucketFollower } from './bucket-follower.js';
import { safeJson } from './json.js';
import type { ContextLogger } from './logger.js';

/** How long an announced activation counts without being recorded (see KillSwitchWatcher). */
export const PENDING_ACTIVATION_TTL_MS = 10_000;

/** An activation announced (KillSwitchActivatingSig, or `announce`) that the bucket has not confirmed yet. */
export interface PendingActivation {
  /** The state it would give its scope (`since`: when it was accepted; `version`: the recorded one's at that time). */
  state: ScopeState;
  /** When it stops counting unless confirmed (epoch ms). */
  expiresAt: number;
}

export interface ScopeChange {
  scope: string;
  state: ScopeState;
  previous: ScopeState | undefined;
}

/**
 * A process's view of the kill switch: the KV bucket `KILL_SWITCH`, read in full and then watched.
 *
 * Early writes: the bucket's writes are also seen as they are published, on core NATS, before
 * JetStream has stored them and before the watch delivers them. risk-service writes the bucket only
 * once PostgreSQL has committed the change, so such a write is already the truth; acting on it saves
 * the store-and-deliver hop (milliseconds under load, what a kill switch is judged on). The watch stays
 * the record: it confirms the write, and a re-read after a reconnect replaces everything. An early
 * write counts only while the view is synced and only when it is a newer version of its scope.
 *
 * Pending activations (with the `announcements` option): risk-service announces an activation as soon
 * as it has accepted it, before it records it (KillSwitchActivatingSig), and the gateway that accepts an
 * operator's activation announces it to itself (`announce`). `effective` counts it at once, so orders
 * are refused without waiting for PostgreSQL's commit (and its rare stalls): the safe direction. The bucket's next write of
 * that scope made at or after the activation was accepted (`since`) replaces it, whatever it says; one
 * never confirmed stops counting after PENDING_ACTIVATION_TTL_MS (the activation failed: its caller got
 * an error) and is reported to `onPending`. `get`, `all` and `onChange` show only what is recorded.
 *
 * Fail-closed: `known` is false until the bucket has been read since the last (re)connect and holds
 * the `global` scope (risk-service writes it on every start: an empty bucket means risk-service never
 * ran, not "all clear"); it goes false again as soon as the connection drops or the watch breaks.
 * Callers must refuse to trade while it is false (`RISK_STATE_UNKNOWN`).
 */
export class KillSwitchWatcher {
  /** Each scope's state; `early` while it comes from a write the watch has not delivered yet. */
  private readonly states = new Map<string, { state: ScopeState; revision: number; early: boolean }>();
  private readonly pending = new Map<string, PendingActivation>();
  private readonly changeListeners: Array<(change: ScopeChange) => void> = [];
  private readonly pendingListeners: Array<(what: 'announced' | 'expired', pending: PendingActivation) => void> = [];
  private readonly knownListeners: Array<(known: boolean) => void> = [];
  private readonly follower: BucketFollower;
  private isKnown = false;
  private snapshotRead = false;
  private earlyWrites?: Subscription;
  private activations?: Subscription;
  /** The subject prefix of the bucket's writes: `$KV.<bucket>.`, then the key. */
  private readonly writes: string;
  private readonly activationsSubject: string;

  constructor(
    private readonly nc: NatsConnection,
    topology: BusTopology,
    private readonly log: ContextLogger,
    /**
     * `announcements`: count pending activations (for views that only refuse on them; a process that
     * persists what the kill switch implies, like bot-service's halts, acts on records only).
     */
    private readonly options: { announcements?: boolean; pendingTtlMs?: number } = {},
  ) {
    this.writes = `$KV.${topology.killSwitchBucket}.`;
    this.activationsSubject = topology.subject(KillSwitchActivatingSig);
    let kv: KV | undefined;
    this.follower = new BucketFollower(
      nc,
      async () => (kv ??= await openBucket(nc, topology.killSwitchBucket, { history: 16 })),
      { entry: (entry) => this.apply(entry), synced: (synced, why) => this.synced(synced, why) },
      log,
      'kill-switch',
    );
  }

  /** Reads the bucket and starts watching; resolves once the state is known. */
  start(): Promise<void> {
    this.earlyWrites ??= this.nc.subscribe(`${this.writes}>`, { callback: (err, msg) => (err ? undefined : this.early(msg)) });
    if (this.options.announcements)
      this.activations ??= this.nc.subscribe(this.activationsSubject, { callback: (err, msg) => (err ? undefined : this.activating(msg)) });
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

  /**
   * Effective state for an order or a bot: the most restrictive covering scope (DESIGN §3), pending
   * activations included.
   */
  effective(target: ScopeTarget): { state: TradingState; imposedBy?: ScopeState } {
    const result = effectiveState(target, (scope) => this.enforced(scope));
    return result.imposedBy ? { state: result.state, imposedBy: this.enforced(result.imposedBy.scope) } : { state: result.state };
  }

  /** Called when risk-service announces an activation, and when one stops counting without having been recorded. */
  onPending(listener: (what: 'announced' | 'expired', pending: PendingActivation) => void): void {
    this.pendingListeners.push(listener);
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
    this.earlyWrites?.unsubscribe();
    this.earlyWrites = undefined;
    this.activations?.unsubscribe();
    this.activations = undefined;
    this.follower.stop();
    return Promise.resolve();
  }

  private setKnown(known: boolean, why?: 'stopped'): void {
    if (this.isKnown === known) return;
    this.isKnown = known;
    if (known) this.log.info('kill-switch state known', { scopes: this.states.size });
    else if (why === 'stopped') this.log.info('kill-switch state no longer followed: stopping');
    else this.log.warn('kill-switch state unknown: refusing to trade until it is read again');
    for (const l of this.knownListeners) l(known);
  }

  /** Fail-closed: known only once the bucket has been read since the last (re)connect and holds `global`. */
  private synced(synced: boolean, why?: 'stopped'): void {
    this.snapshotRead = synced;
    this.setKnown(synced && this.states.has('global'), why);
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
    // An older write delivered after a newer one was seen early: the newer one's entry is still to come.
    if (current?.early && parsed.data.version < current.state.version) return;
    this.set(scope, { state: parsed.data, revision: entry.revision, early: false }, current);
    if (scope === 'global' && this.snapshotRead) this.setKnown(true);
  }

  /** A write of the bucket as it is published (see the class comment); puts only, deletes wait for the watch. */
  private early(msg: Msg): void {
    if (!this.snapshotRead || msg.headers?.get('KV-Operation')) return;
    const scope = scopeFromKillSwitchKey(msg.subject.slice(this.writes.length));
    const parsed = ScopeState.safeParse(safeJson(msg.data));
    if (!parsed.success || parsed.data.scope !== scope) return;
    const current = this.states.get(scope);
    if (current && current.state.version >= parsed.data.version) return;
    this.set(scope, { state: parsed.data, revision: current?.revision ?? 0, early: true }, current);
  }

  /** What a scope's orders are held to: its recorded state, or a pending activation more restrictive than it. */
  private enforced(scope: string): ScopeState | undefined {
    const recorded = this.states.get(scope)?.state;
    const pending = this.pending.get(scope);
    if (!pending) return recorded;
    if (Date.now() < pending.expiresAt) return moreRestrictive(pending.state.state, recorded?.state ?? 'ACTIVE') ? pending.state : recorded;
    this.pending.delete(scope);
    // Not recorded in time: the activation failed (or its scope was already as restrictive, a no-op).
    if (moreRestrictive(pending.state.state, recorded?.state ?? 'ACTIVE')) {
      this.log.warn('an announced kill-switch activation was not recorded in time: it no longer counts', {
        scope,
        state: pending.state.state,
        requestedAt: pending.state.since,
      });
      for (const l of this.pendingListeners) l('expired', pending);
    }
    return recorded;
  }

  /** An activation risk-service has accepted and is recording (see the class comment). */
  private activating(msg: Msg): void {
    const env = Envelope.safeParse(safeJson(msg.data));
    const parsed = env.success && env.data.type === KillSwitchActivatingSig.type ? KillSwitchActivatingSig.payload.safeParse(env.data.payload) : undefined;
    if (!parsed?.success) return this.log.warn('dropped an invalid kill-switch activation signal', { subject: msg.subject });
    const pending = this.announce(parsed.data);
    if (pending) for (const l of this.pendingListeners) l('announced', pending);
  }

  /**
   * Counts an activation as pending here, as risk-service's announcement of it does (for the edge that
   * accepts an operator's activation: its orders stop before the request reaches risk-service, whose
   * announcement then replaces this one). Answers the pending activation, or undefined when the
   * scope's record is already as recent.
   */
  announce(activation: KillSwitchActivating): PendingActivation | undefined {
    const { scope, state, reason, actor, requestedAt } = activation;
    const recorded = this.states.get(scope)?.state;
    // Recorded already (its bucket write came first).
    if (recorded && Date.parse(recorded.since) >= Date.parse(requestedAt)) return undefined;
    const pending = {
      state: { scope, state, reason, actor, since: requestedAt, version: recorded?.version ?? 0 },
      expiresAt: Date.now() + (this.options.pendingTtlMs ?? PENDING_ACTIVATION_TTL_MS),
    };
    this.pending.set(scope, pending);
    return pending;
  }

  /** Stops counting a pending activation from `announce` (its request was refused), unless another has replaced it. */
  withdraw(pending: PendingActivation): void {
    if (this.pending.get(pending.state.scope) === pending) this.pending.delete(pending.state.scope);
  }

  private set(scope: string, next: { state: ScopeState; revision: number; early: boolean }, current: { state: ScopeState } | undefined): void {
    this.states.set(scope, next);
    const pending = this.pending.get(scope);
    // A write of the scope made at or after the pending activation was accepted: the record from now on.
    if (pending && Date.parse(next.state.since) >= Date.parse(pending.state.since)) this.pending.delete(scope);
    if (current?.state.state !== next.state.state) {
      for (const l of this.changeListeners) l({ scope, state: next.state, previous: current?.state });
    }
  }
}
