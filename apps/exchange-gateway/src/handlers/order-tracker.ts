import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { JsonLogger, SERVICE_CONFIG, errorFields, type ContextLogger } from '@garde/platform';
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
 */
@Injectable()
export class OrderTracker implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lockConnection: QueryRunner | undefined;
  private leader = false;
  private stopping = false;
  private readonly halts = new Set<Promise<void>>();
  private readonly log: ContextLogger;

  constructor(
    private readonly ds: DataSource,
    private readonly settle: SettleUnknownOrders,
    private readonly track: TrackOpenOrders,
    private readonly cancelInScope: CancelOrdersInScope,
    gate: KillSwitchGate,
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

  private async onHalt(state: Parameters<CancelOrdersInScope['execute']>[0]): Promise<void> {
    try {
      if (await this.isLeader()) await this.cancelInScope.execute(state, () => this.stopping);
    } catch (err) {
      this.log.error('cancelling the orders of a halted scope failed', { scope: state.scope, ...errorFields(err) });
    }
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.config.ORDER_TRACKER_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
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
    if (this.leader && this.lockConnection && !this.lockConnection.isReleased) return true;
    this.lockConnection ??= this.ds.createQueryRunner();
    const rows = (await this.lockConnection.query("SELECT pg_try_advisory_lock(hashtext('garde-gateway-order-tracker')) AS locked", [])) as Array<{
      locked: boolean;
    }>;
    const [row] = rows;
    this.leader = row?.locked === true;
    if (this.leader) this.log.info('this replica tracks the orders');
    return this.leader;
  }
}
