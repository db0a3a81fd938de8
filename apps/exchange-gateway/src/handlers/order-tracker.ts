import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import type { ScopeState } from '@garde/contracts';
import { JsonLogger, SERVICE_CONFIG, errorFields, unreachableCause, type ContextLogger } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { KillSwitchGate } from '../state/kill-switch-gate.js';
import { CancelOrdersInScope } from '../use-cases/cancel-orders-in-scope/cancel-orders-in-scope.use-case.js';
import { SettleUnknownOrders } from '../use-cases/settle-unknown-orders/settle-unknown-orders.use-case.js';
import { TrackOpenOrders } from '../use-cases/track-open-orders/track-open-orders.use-case.js';

/**
 * The event- and time-driven boundary of the order book: when a scope goes HALTED it cancels the
 * scope's open orders and confirms with the venues; every ORDER_TRACKER_INTERVAL_MS it settles the
 * UNKNOWN orders that are due and polls the open orders that are due. One gateway replica does it at a time (a PostgreSQL advisory lock held
 * on a connection of its own): two replicas never act on the same order together.
 *
 * PostgreSQL may restart under it: the lock's connection then breaks, its lock goes with its session, and
 * the next pass opens another connection and takes the lock again (or finds another replica holding it).
 * A halt whose cancels cannot run (database unreachable) is tried again while its scope stays halted;
 * meanwhile a global or exchange halt cancels straight at the venues it knows (CancelOrdersInScope
 * .venuesOnly), and a halt not confirmed flat raises the kill switch's critical alert (FlatFailedEvt,
 * with the error) once FLAT_CONFIRM_TIMEOUT_MS has passed, or twice that when the sweep hangs: the kill
 * switch never gives up on its cancels silently.
 */
/** A halt whose cancels could not run is tried again this soon; after its alert, less often. */
const HALT_RETRY_MS = 500;
const HALT_RETRY_AFTER_ALERT_MS = 5000;

@Injectable()
export class OrderTracker implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lockConnection: QueryRunner | undefined;
  private leader = false;
  private stopping = false;
  /** Cuts the waits between a halt's tries short at shutdown. */
  private readonly shutdown = new AbortController();
  private readonly halts = new Set<Promise<void>>();
  private readonly log: ContextLogger;

  constructor(
    private readonly ds: DataSource,
    private readonly settle: SettleUnknownOrders,
    private readonly track: TrackOpenOrders,
    private readonly cancelInScope: CancelOrdersInScope,
    private readonly gate: KillSwitchGate,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    logger: JsonLogger,
  ) {
    this.log = logger.child('order-tracker');
    gate.onChange(({ state }) => {
      if (state.state !== 'HALTED' || this.stopping) return;
      const halt = this.onHalt(state).finally(() => this.halts.delete(halt));
      this.halts.add(halt);
    });
  }

  private async onHalt(halt: ScopeState): Promise<void> {
    const started = Date.now();
    const deadline = this.config.FLAT_CONFIRM_TIMEOUT_MS;
    let alerted = false;
    const alert = async (error: string) => {
      if (alerted) return;
      alerted = true;
      await this.cancelInScope
        .notFlat(halt, { stillOpen: {}, unreachable: [], elapsedMs: Date.now() - started, error })
        .catch((failed: unknown) => this.log.error('the NOT FLAT alert could not be published', errorFields(failed)));
    };
    // The venues asked directly, once, when the book's sweep cannot run (its database unreachable) or does
    // not end: every replica may (a cancel twice is harmless). Flat, or NOT FLAT, is its own alert.
    let venues: Promise<void> | undefined;
    const askVenues = () =>
      (venues ??= this.cancelInScope
        .venuesOnly(halt, () => this.stopping)
        .then(
          (outcome) => void (outcome === 'flat' || outcome === 'not-flat' ? (alerted = true) : undefined),
          (failed: unknown) => this.log.error('cancelling at the venues alone failed', { scope: halt.scope, ...errorFields(failed) }),
        ));
    // A sweep that neither ends nor fails (a database or a venue that does not answer) is not waited on in silence.
    const watchdog = setTimeout(
      () => void askVenues().then(() => alert(`the cancels and checks had not ended after ${2 * deadline} ms (the database or a venue not answering)`)),
      2 * deadline,
    );
    try {
      // Tried until it runs to its end, while this very halt is the scope's state (a later change has its own).
      while (!this.stopping && this.gate.get(halt.scope)?.version === halt.version) {
        try {
          if (await this.isLeader()) await this.cancelInScope.execute(halt, () => this.stopping);
          return;
        } catch (err) {
          this.log.error('cancelling the orders of a halted scope failed; trying again', {
            scope: halt.scope,
            elapsedMs: Date.now() - started,
            ...errorFields(err),
          });
          if (unreachableCause(err)) await askVenues();
          if (Date.now() - started >= deadline) await alert(err instanceof Error ? err.message : String(err));
          await sleep(alerted ? HALT_RETRY_AFTER_ALERT_MS : HALT_RETRY_MS, undefined, { signal: this.shutdown.signal }).catch(() => undefined);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.config.ORDER_TRACKER_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort();
    clearInterval(this.timer);
    await Promise.all([this.running, ...this.halts]);
    if (this.lockConnection) await this.lockConnection.release();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.isLeader())) return;
      await this.settle.execute();
      await this.track.execute();
    } catch (err) {
      this.log.error('order tracking pass failed', errorFields(err));
    }
  }

  private async isLeader(): Promise<boolean> {
    // A connection that broke (TypeORM released it) took its lock with its session.
    if (this.lockConnection?.isReleased) this.lockConnection = undefined;
    if (this.leader && this.lockConnection) return true;
    this.leader = false;
    const connection = (this.lockConnection ??= this.ds.createQueryRunner());
    let rows: Array<{ locked: boolean }>;
    try {
      rows = (await connection.query("SELECT pg_try_advisory_lock(hashtext('garde-gateway-order-tracker')) AS locked", [])) as typeof rows;
    } catch (err) {
      // Never opened, or broken before TypeORM noticed: the next call opens another one.
      if (this.lockConnection === connection) this.lockConnection = undefined;
      await connection.release().catch(() => undefined);
      throw err;
    }
    this.leader = rows[0]?.locked === true;
    if (this.leader) this.log.info('this replica tracks the orders');
    return this.leader;
  }
}
