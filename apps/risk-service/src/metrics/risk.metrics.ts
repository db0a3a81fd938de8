import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TRADING_STATES } from '@garde/domain';
import { JsonLogger, errorFields } from '@garde/platform';
import { KillSwitchRepository } from '../persistence/kill-switch.repository.js';

@Injectable()
export class RiskMetrics {
  /** Kill-switch changes by action and scope kind (never the scope id: bounded labels). */
  readonly killSwitchChanges: Counter<'action' | 'scope_kind'>;
  /** Pre-trade checks by decision and denial reason (closed sets). */
  readonly orderChecks: Counter<'decision' | 'reason'>;
  /** From request received to reply (PostgreSQL + KV + event). */
  readonly changeDuration: Histogram<'action'>;

  constructor(registry: Registry, repository: KillSwitchRepository, logger: JsonLogger) {
    const log = logger.child('metrics');
    this.killSwitchChanges = new Counter({
      name: 'garde_risk_kill_switch_changes_total',
      help: 'Kill-switch state changes, by action and scope kind',
      labelNames: ['action', 'scope_kind'],
      registers: [registry],
    });
    this.orderChecks = new Counter({
      name: 'garde_risk_order_checks_total',
      help: 'Pre-trade checks, by decision and denial reason',
      labelNames: ['decision', 'reason'],
      registers: [registry],
    });
    this.changeDuration = new Histogram({
      name: 'garde_risk_kill_switch_change_seconds',
      help: 'Time to apply a kill-switch change (PostgreSQL, KV, event)',
      labelNames: ['action'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    // The state gauges are read from PostgreSQL at scrape time: right in every replica, whichever
    // one applied the change.
    new Gauge({
      name: 'garde_risk_kill_switch_global_halted',
      help: '1 when the global kill switch is HALTED',
      registers: [registry],
      async collect() {
        try {
          this.set((await repository.get('global')).state === 'HALTED' ? 1 : 0);
        } catch (err) {
          log.warn('global kill-switch state read failed', errorFields(err));
        }
      },
    });
    new Gauge({
      name: 'garde_risk_kill_switch_scopes',
      help: 'Scopes per kill-switch state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const scopes = await repository.list();
          for (const state of TRADING_STATES) this.set({ state }, scopes.filter((s) => s.state === state).length);
        } catch (err) {
          log.warn('kill-switch state count failed', errorFields(err));
        }
      },
    });
  }
}
