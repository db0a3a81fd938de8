import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BOT_STATES } from '@garde/domain';
import { JsonLogger, errorFields } from '@garde/platform';
import { BotRepository } from '../persistence/bot.repository.js';

@Injectable()
export class BotMetrics {
  /** Bots currently in each state. */
  readonly botsByState: Gauge<'state'>;
  /** Lifecycle transitions by from/to state (never the bot id: bounded labels). */
  readonly transitions: Counter<'from' | 'to'>;
  /** From the kill-switch change received from KV to the halt committed in PostgreSQL. */
  readonly haltDuration: Histogram;
  /** Bots moved to HALTED by a kill switch. */
  readonly botsHalted: Counter;
  /** Strategy steps by outcome: `stepped`, a skip reason (no or stale market data, gateway or database unavailable), or `failed`. */
  readonly engineSteps: Counter<'strategy' | 'outcome'>;
  /** Intents the strategies made, by strategy and kind (place, cancel). */
  readonly intents: Counter<'strategy' | 'kind'>;
  /** From the ticker or fill that woke a step to the intents it made, saved and about to be sent. */
  readonly tickToIntent: Histogram;
  /** Bots put in ERROR by the engine, by strategy and cause (strategy exception, venue errors, lease lost). */
  readonly strategyErrors: Counter<'strategy' | 'cause'>;
  /** Lease events of this replica: acquired, renewed, released, lost-taken, lost-expired. */
  readonly leaseEvents: Counter<'event'>;
  /** Bot leases this replica holds. */
  readonly leasesHeld: Gauge;
  /** Orders the bots' strategies count as open, by bot state (a PAUSED, STOPPED or HALTED bot may keep some at the venue). */
  readonly openOrders: Gauge<'state'>;

  constructor(registry: Registry, repository: BotRepository, logger: JsonLogger) {
    const log = logger.child('metrics');
    // Counted from PostgreSQL at scrape time: right in every replica, whichever made the change.
    this.botsByState = new Gauge({
      name: 'garde_bot_bots',
      help: 'Bots per lifecycle state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const counts = await repository.countByState();
          for (const state of BOT_STATES) this.set({ state }, counts.find((c) => c.state === state)?.count ?? 0);
        } catch (err) {
          log.warn('bots-per-state count failed', errorFields(err));
        }
      },
    });
    this.openOrders = new Gauge({
      name: 'garde_bot_open_orders',
      help: 'Orders the bots count as open at the venue, by bot state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const counts = await repository.openOrdersByState();
          for (const state of BOT_STATES) this.set({ state }, counts.get(state) ?? 0);
        } catch (err) {
          log.warn('open-orders count failed', errorFields(err));
        }
      },
    });
    this.intents = new Counter({
      name: 'garde_bot_intents_total',
      help: 'Intents made by the strategies, by strategy and kind (place, cancel)',
      labelNames: ['strategy', 'kind'],
      registers: [registry],
    });
    this.tickToIntent = new Histogram({
      name: 'garde_bot_tick_to_intent_seconds',
      help: 'From the ticker (received by the gateway) or the fill (executed at the venue) that woke a step to the intents it made, saved and about to be sent',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    this.strategyErrors = new Counter({
      name: 'garde_bot_strategy_errors_total',
      help: 'Bots the engine put in ERROR, by strategy and cause',
      labelNames: ['strategy', 'cause'],
      registers: [registry],
    });
    this.leaseEvents = new Counter({
      name: 'garde_bot_lease_events_total',
      help: 'Bot lease events of this replica: acquired, renewed, released, lost-taken, lost-expired',
      labelNames: ['event'],
      registers: [registry],
    });
    this.leasesHeld = new Gauge({ name: 'garde_bot_leases_held', help: 'Bot leases this replica holds', registers: [registry] });
    this.engineSteps = new Counter({
      name: 'garde_bot_strategy_steps_total',
      help: 'Strategy steps of RUNNING bots, by strategy and outcome (stepped, idle, sent, not-running, skipped for a reason, failed)',
      labelNames: ['strategy', 'outcome'],
      registers: [registry],
    });
    this.transitions = new Counter({
      name: 'garde_bot_transitions_total',
      help: 'Bot lifecycle transitions, by from and to state',
      labelNames: ['from', 'to'],
      registers: [registry],
    });
    this.haltDuration = new Histogram({
      name: 'garde_bot_kill_switch_halt_seconds',
      help: 'Time from a kill-switch change received to its bots HALTED in PostgreSQL',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.botsHalted = new Counter({ name: 'garde_bot_kill_switch_halted_bots_total', help: 'Bots moved to HALTED by a kill switch', registers: [registry] });
  }
}
