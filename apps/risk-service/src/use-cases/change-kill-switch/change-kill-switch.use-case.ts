import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  KillSwitchActivatedEvt,
  KillSwitchActivatingSig,
  KillSwitchDeactivatedEvt,
  type Actor,
  type KillSwitchChange,
  type ScopeState,
  type TradingState,
} from '@garde/contracts';
import { parseScope } from '@garde/domain';
import { JsonLogger, MessageBus, errorFields, runEvery, unreachableCause, type ContextLogger, type MessageContext, type PeriodicTask } from '@garde/platform';
import { RiskException } from '../../errors/risk.exception.js';
import { RiskMetrics } from '../../metrics/risk.metrics.js';
import { KillSwitchRepository, neverSet, type StateChange } from '../../persistence/kill-switch.repository.js';
import { KillSwitchBucket } from '../../state/kill-switch.bucket.js';
import { SyncKillSwitchBucket } from '../sync-kill-switch-bucket/sync-kill-switch-bucket.use-case.js';

/** How often an activation made without the database is tried again into it. */
const RECORD_RETRY_MS = 5000;

export interface ChangeKillSwitchInput {
  scope: string;
  /** HALTED or REDUCING to activate, ACTIVE to deactivate. */
  to: TradingState;
  reason: string;
}

/**
 * Activates or deactivates one kill-switch scope, in the order of DESIGN §3: PostgreSQL, then the KV
 * bucket (what the gateway and the bots act on), then the event for the audit trail, then the reply.
 * An activation is announced first (KillSwitchActivatingSig), as soon as it is accepted: the gateway
 * refuses orders from then on, without waiting for the commit; the bucket's write confirms it.
 *
 * The kill switch must stop trading even when PostgreSQL is down: an activation whose database write
 * fails for want of the database (unreachable, restarting) is made from the bucket's state instead
 * (next version), written to the bucket and published all the same, and answered `unrecorded`; it is
 * recorded in the database as soon as it is back (SyncKillSwitchBucket, tried every RECORD_RETRY_MS, and
 * at every start). A deactivation is never made without its record: it fails until the database is back.
 */
@Injectable()
export class ChangeKillSwitch implements OnApplicationShutdown {
  /** Activations made without the database and not recorded there yet (this replica's). */
  private unrecorded = 0;
  /** Records them, every RECORD_RETRY_MS, while there are any. */
  private readonly recorder: PeriodicTask;
  private readonly log: ContextLogger;

  constructor(
    private readonly repository: KillSwitchRepository,
    private readonly bucket: KillSwitchBucket,
    private readonly sync: SyncKillSwitchBucket,
    private readonly bus: MessageBus,
    private readonly metrics: RiskMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('kill-switch');
    this.recorder = runEvery(
      RECORD_RETRY_MS,
      () => this.recordUnrecorded(),
      (err) => this.log.warn('kill-switch changes still not recorded in PostgreSQL; trying again', errorFields(err)),
    );
  }

  /** What is still unrecorded at shutdown is recorded at the next start (SyncKillSwitchBucket at bootstrap). */
  async onApplicationShutdown(): Promise<void> {
    await this.recorder.stop();
  }

  async execute(input: ChangeKillSwitchInput, ctx: MessageContext & { correlationId: string }): Promise<KillSwitchChange> {
    const started = process.hrtime.bigint();
    const action = input.to === 'ACTIVE' ? 'deactivate' : 'activate';
    const actor = ctx.actor;
    if (!actor) throw new RiskException('UNAUTHENTICATED', `${action} needs an identified actor`);
    authorize(action, actor);
    const parsed = parseScope(input.scope);
    if ('error' in parsed) throw new RiskException('INVALID_REQUEST', parsed.error);

    const at = new Date();
    if (input.to !== 'ACTIVE') {
      this.bus.signal(KillSwitchActivatingSig, { scope: input.scope, state: input.to, reason: input.reason, actor, requestedAt: at.toISOString() }, ctx);
    }
    let change: StateChange & { unrecorded?: string };
    try {
      change = await this.repository.changeState({ ...input, actor, correlationId: ctx.correlationId, at });
    } catch (err) {
      const unreachable = unreachableCause(err);
      if (action === 'deactivate' || !unreachable) throw err;
      change = await this.fromBucket(input, actor, at, unreachable);
      if (change.changed) this.metrics.killSwitchUnrecorded.set(++this.unrecorded);
      this.log.error('kill switch activated WITHOUT its database record (PostgreSQL unreachable); recorded once it is back', {
        scope: input.scope,
        ...errorFields(err),
      });
    }
    if (change.changed) {
      try {
        await this.bucket.put(change.current);
      } catch (err) {
        throw new RiskException(
          'UNAVAILABLE',
          `the ${action} of ${input.scope} is recorded but could not be written to the KV bucket (${String(err)}); risk-service re-publishes it on its next start, retry the command to re-publish now`,
        );
      }
      await this.bus.publish(action === 'activate' ? KillSwitchActivatedEvt : KillSwitchDeactivatedEvt, change, ctx);
      this.metrics.killSwitchChanges.inc({ action, scope_kind: parsed.kind });
    } else {
      // Already in that state: make sure the bucket agrees (it may have missed an earlier write).
      if (change.current.version > 0) await this.bucket.put(change.current).catch(() => undefined);
    }
    this.metrics.changeDuration.observe({ action }, Number(process.hrtime.bigint() - started) / 1e9);
    return change;
  }

  /** The activation as the next version of the scope's state in the bucket (the database cannot be asked). */
  private async fromBucket(input: ChangeKillSwitchInput, actor: Actor, at: Date, unreachable: string): Promise<StateChange & { unrecorded: string }> {
    const held = (await this.bucket.get(input.scope)) ?? neverSet(input.scope);
    const unrecorded = `risk-service could not reach its database (${unreachable}): the activation is in force, and recorded there once it is back`;
    if (held.state === input.to) return { current: held, previousState: held.state, changed: false, unrecorded };
    const current: ScopeState = { scope: input.scope, state: input.to, reason: input.reason, actor, since: at.toISOString(), version: held.version + 1 };
    return { current, previousState: held.state, changed: true, unrecorded };
  }

  /** Records in the database what the bucket holds newer, once it is back (SyncKillSwitchBucket records them all). */
  private async recordUnrecorded(): Promise<void> {
    const pending = this.unrecorded;
    if (pending === 0) return;
    await this.sync.execute();
    this.unrecorded -= pending;
    this.metrics.killSwitchUnrecorded.set(this.unrecorded);
  }
}

/** Any operator role but viewer may stop trading; only risk or admin may restart it, never automatically. */
function authorize(action: 'activate' | 'deactivate', actor: Actor): void {
  if (action === 'activate') {
    if (actor.kind !== 'operator') return;
    if (actor.role === 'operator' || actor.role === 'risk' || actor.role === 'admin') return;
    throw new RiskException('FORBIDDEN', `role ${actor.role ?? 'none'} may not activate the kill switch (needs operator, risk or admin)`);
  }
  if (actor.kind === 'operator' && (actor.role === 'risk' || actor.role === 'admin')) return;
  throw new RiskException(
    'FORBIDDEN',
    actor.kind === 'operator'
      ? `role ${actor.role ?? 'none'} may not deactivate the kill switch (needs risk or admin)`
      : 'a kill switch is only deactivated by a person with the risk or admin role, never automatically',
  );
}
