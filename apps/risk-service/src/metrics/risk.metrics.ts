import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

@Injectable()
export class RiskMetrics {
  /** Kill-switch changes by action and scope kind (never the scope id: bounded labels). */
  readonly killSwitchChanges: Counter<'action' | 'scope_kind'>;
  /** Scopes currently in each state. */
  readonly scopesByState: Gauge<'state'>;
  /** 1 while the global scope is HALTED. */
  readonly globalHalted: Gauge;
  /** From request received to reply (PostgreSQL + KV + event). */
  readonly changeDuration: Histogram<'action'>;

  constructor(registry: Registry) {
    this.killSwitchChanges = new Counter({
      name: 'garde_risk_kill_switch_changes_total',
      help: 'Kill-switch state changes, by action and scope kind',
      labelNames: ['action', 'scope_kind'],
      registers: [registry],
    });
    this.scopesByState = new Gauge({ name: 'garde_risk_kill_switch_scopes', help: 'Scopes per kill-switch state', labelNames: ['state'], registers: [registry] });
    this.globalHalted = new Gauge({ name: 'garde_risk_kill_switch_global_halted', help: '1 when the global kill switch is HALTED', registers: [registry] });
    this.changeDuration = new Histogram({
      name: 'garde_risk_kill_switch_change_seconds',
      help: 'Time to apply a kill-switch change (PostgreSQL, KV, event)',
      labelNames: ['action'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  }

  observeScopes(states: Array<{ scope: string; state: string }>): void {
    for (const s of ['ACTIVE', 'REDUCING', 'HALTED']) this.scopesByState.set({ state: s }, states.filter((x) => x.state === s).length);
    this.globalHalted.set(states.some((x) => x.scope === 'global' && x.state === 'HALTED') ? 1 : 0);
  }
}
