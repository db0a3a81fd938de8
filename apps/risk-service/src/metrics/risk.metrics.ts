import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LIMIT_SCOPE_KINDS, TRADING_STATES, type LimitScopeKind } from '@garde/domain';
import { JsonLogger, errorFields } from '@garde/platform';
import { KillSwitchRepository } from '../persistence/kill-switch.repository.js';
import { KillSwitchView } from '../state/kill-switch-view.js';

/** What the exposure gauges read at scrape time (set by the pre-trade check once it runs). */
export interface ExposureProbe {
  /** Per scope kind, the highest exposure / maxOpenNotional among the scopes of that kind with such a limit. */
  utilization(): Partial<Record<LimitScopeKind, number>>;
  /** The firm's exposure in quote (null while unknown). */
  firmExposure(): number | null;
  /** Orders counted against the limits now. */
  countedOrders(): number;
  /** 1 when each part the check needs is known (kill switch, limits, order events). */
  ready(): Record<'kill_switch' | 'limits' | 'exposure', boolean>;
}

/** The loss and runaway limits a utilization is reported for (label `limit`). */
export type LossLimitLabel = 'max_drawdown' | 'max_daily_loss' | 'max_fills_per_minute' | 'max_denials_per_minute';

/** What the loss gauges read at scrape time (set by the loss-limit watch once it runs). */
export interface LossProbe {
  /** Per scope kind and limit, the highest figure / limit among the scopes that have that limit. */
  utilization(): Array<{ scopeKind: 'firm' | 'bot'; limit: LossLimitLabel; ratio: number }>;
  /** The firm's equity and its drawdown from the peak, in quote (null while unknown). */
  firm(): { equity: number; drawdown: number } | null;
}

@Injectable()
export class RiskMetrics {
  /** Kill-switch changes by action and scope kind (never the scope id: bounded labels). */
  readonly killSwitchChanges: Counter<'action' | 'scope_kind'>;
  /** Pre-trade checks by decision and denial reason (closed sets). */
  readonly orderChecks: Counter<'decision' | 'reason'>;
  /** From a pre-trade check received to its decision (reference lookup and approval record included). */
  readonly checkDuration: Histogram<'decision'>;
  /** Limit changes by scope kind. */
  readonly limitChanges: Counter<'scope_kind'>;
  /** From request received to reply (PostgreSQL + KV + event). */
  readonly changeDuration: Histogram<'action'>;
  readonly approvalsUnrecorded: Counter;
  /** Kill-switch activations this replica made without the database, in force and not recorded there yet. */
  readonly killSwitchUnrecorded: Gauge;
  /** Scopes risk-service halted by itself, by trigger (drawdown, daily-loss, runaway-fills, runaway-denials) and scope kind. */
  readonly autoKillSwitch: Counter<'trigger' | 'scope_kind'>;
  private probe: ExposureProbe | undefined;
  private lossProbe: LossProbe | undefined;

  constructor(registry: Registry, repository: KillSwitchRepository, view: KillSwitchView, logger: JsonLogger) {
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
    this.checkDuration = new Histogram({
      name: 'garde_risk_order_check_seconds',
      help: 'Time to decide a pre-trade check, by decision',
      labelNames: ['decision'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    });
    this.approvalsUnrecorded = new Counter({
      name: 'garde_risk_approvals_unrecorded_total',
      help: 'Approvals the AUDIT stream did not acknowledge (other replicas count those orders only from their gateway events)',
      registers: [registry],
    });
    this.killSwitchUnrecorded = new Gauge({
      name: 'garde_risk_kill_switch_unrecorded_changes',
      help: 'Kill-switch activations made while PostgreSQL was unreachable: in force (KV bucket), not recorded in the database yet',
      registers: [registry],
    });
    this.autoKillSwitch = new Counter({
      name: 'garde_risk_auto_kill_switch_activations_total',
      help: 'Kill-switch scopes risk-service activated by itself (loss limit or runaway bot), by trigger and scope kind',
      labelNames: ['trigger', 'scope_kind'],
      registers: [registry],
    });
    this.limitChanges = new Counter({
      name: 'garde_risk_limit_changes_total',
      help: 'Risk-limit versions written, by scope kind',
      labelNames: ['scope_kind'],
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
    // one applied the change. Without the database, from the KV bucket's view (what is enforced).
    new Gauge({
      name: 'garde_risk_kill_switch_global_halted',
      help: '1 when the global kill switch is HALTED',
      registers: [registry],
      async collect() {
        try {
          this.set((await repository.get('global')).state === 'HALTED' ? 1 : 0);
        } catch (err) {
          log.warn('global kill-switch state read failed; from the KV bucket', errorFields(err));
          if (view.known) this.set(view.get('global')?.state === 'HALTED' ? 1 : 0);
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
          log.warn('kill-switch state count failed; from the KV bucket', errorFields(err));
          if (!view.known) return;
          const scopes = view.all().filter((s) => s.version > 0);
          for (const state of TRADING_STATES) this.set({ state }, scopes.filter((s) => s.state === state).length);
        }
      },
    });
    // Exposure, from this replica's book (every replica reads every order event): computed at scrape.
    const probe = () => this.probe;
    const lossProbe = () => this.lossProbe;
    new Gauge({
      name: 'garde_risk_limit_utilization_ratio',
      help: 'Highest figure / limit among the scopes of each kind that have the limit: exposure / maxOpenNotional, drawdown / maxDrawdown, daily loss / maxDailyLoss, fills or denials of the last minute / maxFillsPerMinute or maxDenialsPerMinute',
      labelNames: ['scope_kind', 'limit'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { scopeKind, limit, ratio } of lossProbe()?.utilization() ?? []) this.set({ scope_kind: scopeKind, limit }, ratio);
        const utilization = probe()?.utilization() ?? {};
        for (const kind of LIMIT_SCOPE_KINDS) {
          const value = utilization[kind];
          if (value === undefined) this.remove({ scope_kind: kind, limit: 'max_open_notional' });
          else this.set({ scope_kind: kind, limit: 'max_open_notional' }, value);
        }
      },
    });
    new Gauge({
      name: 'garde_risk_firm_exposure',
      help: "The firm's exposure in quote: worst-case positions with open orders, at reference prices",
      registers: [registry],
      collect() {
        const value = probe()?.firmExposure();
        if (value !== null && value !== undefined) this.set(value);
      },
    });
    new Gauge({
      name: 'garde_risk_firm_drawdown',
      help: "The firm's equity (realized + unrealized PnL − fees, from the fills) below its peak, in quote",
      registers: [registry],
      collect() {
        const firm = lossProbe()?.firm();
        if (firm) this.set(firm.drawdown);
      },
    });
    new Gauge({
      name: 'garde_risk_firm_equity',
      help: "The firm's equity from the fills (realized + unrealized PnL − fees), in quote",
      registers: [registry],
      collect() {
        const firm = lossProbe()?.firm();
        if (firm) this.set(firm.equity);
      },
    });
    new Gauge({
      name: 'garde_risk_counted_orders',
      help: 'Orders counted against the limits (approved, open at a venue, or with fills still to come)',
      registers: [registry],
      collect() {
        this.set(probe()?.countedOrders() ?? 0);
      },
    });
    new Gauge({
      name: 'garde_risk_check_ready',
      help: '1 when this replica knows what its pre-trade checks need (kill_switch, limits, exposure); 0 = it denies every order',
      labelNames: ['part'],
      registers: [registry],
      collect() {
        const ready = probe()?.ready() ?? { kill_switch: false, limits: false, exposure: false };
        for (const [part, ok] of Object.entries(ready)) this.set({ part }, ok ? 1 : 0);
      },
    });
  }

  /** Set by the pre-trade check when it starts. */
  setExposureProbe(probe: ExposureProbe | undefined): void {
    this.probe = probe;
  }

  /** Set by the loss-limit watch when it starts. */
  setLossProbe(probe: LossProbe | undefined): void {
    this.lossProbe = probe;
  }
}
