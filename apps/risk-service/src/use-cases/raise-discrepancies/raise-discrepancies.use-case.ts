import { Injectable } from '@nestjs/common';
import { DiscrepancyFoundEvt, type Actor, type Discrepancy } from '@garde/contracts';
import type { Sighting } from '@garde/domain';
import { JsonLogger, MessageBus, errorFields, type ContextLogger } from '@garde/platform';
import { ReconciliationMetrics } from '../../metrics/reconciliation.metrics.js';
import { DiscrepancyRepository, type NewDiscrepancy } from '../../persistence/discrepancy.repository.js';
import { ChangeKillSwitch } from '../change-kill-switch/change-kill-switch.use-case.js';
import type { AccountLook } from '../reconcile-portfolio/reconcile-portfolio.use-case.js';
import { AccountBots } from './account-bots.js';

/** The automatic actor of reconciliation's halts and records. */
export const RECONCILIATION_ACTOR: Actor = { id: 'risk-service:reconciliation', kind: 'system' };

const REASON_MAX = 500;

/**
 * What a confirmed difference over tolerance sets off (RB-003): a discrepancy record (once: a
 * difference already open, or found by another replica, is not recorded again), the account's bots
 * halted through the kill switch (scope `bot:<id>`, system actor, a reason naming the discrepancy),
 * and `DiscrepancyFoundEvt` (error level: `audit:errors` lists it). Which bots:
 * see AccountBots.
 */
@Injectable()
export class RaiseDiscrepancies {
  private readonly log: ContextLogger;

  constructor(
    private readonly discrepancies: DiscrepancyRepository,
    private readonly accountBots: AccountBots,
    private readonly killSwitch: ChangeKillSwitch,
    private readonly bus: MessageBus,
    private readonly metrics: ReconciliationMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('reconciliation');
  }

  /** Records the confirmed sightings of one account's look; returns the discrepancies recorded now. */
  async execute(look: AccountLook, confirmed: readonly Sighting[], firstLookAt: Date, correlationId: string): Promise<Discrepancy[]> {
    const recorded: Discrepancy[] = [];
    for (const sighting of confirmed) {
      const found = await this.discrepancies.record({ ...describe(look, sighting), detectedAt: new Date(), correlationId, lookedAt: firstLookAt });
      if (found) {
        recorded.push(found);
        this.metrics.discrepanciesFound.inc({ kind: found.kind });
      }
    }
    if (recorded.length === 0) return [];
    const ctx = { correlationId, actor: RECONCILIATION_ACTOR };
    const halted = await this.haltBots(look, recorded, ctx);
    const published: Discrepancy[] = [];
    for (const discrepancy of recorded) {
      const withBots = await this.discrepancies.setHaltedBots(discrepancy.id, halted);
      published.push(withBots);
      this.log.error('reconciliation discrepancy', {
        id: withBots.id,
        accountId: withBots.accountId,
        kind: withBots.kind,
        message: withBots.message,
        haltedBots: halted,
      });
      try {
        await this.bus.publish(DiscrepancyFoundEvt, withBots, ctx);
      } catch (err) {
        this.log.error('could not publish a discrepancy (it is recorded; portfolio:discrepancies lists it)', { id: withBots.id, ...errorFields(err) });
      }
    }
    return published;
  }

  private async haltBots(look: AccountLook, recorded: readonly Discrepancy[], ctx: { correlationId: string; actor: Actor }): Promise<string[]> {
    const bots = await this.accountBots.of(look, ctx);
    const ids = recorded.map((d) => `#${d.id}`).join(', ');
    const reason = clip(`reconciliation discrepancy ${ids} on account ${look.accountId}: ${recorded.map((d) => d.message).join('; ')}`);
    const halted: string[] = [];
    for (const botId of bots) {
      try {
        await this.killSwitch.execute({ scope: `bot:${botId}`, to: 'HALTED', reason }, ctx);
        halted.push(botId);
      } catch (err) {
        this.log.error('could not halt a bot of an account with a discrepancy', { botId, accountId: look.accountId, ...errorFields(err) });
      }
    }
    return halted;
  }
}

function describe(look: AccountLook, s: Sighting): Omit<NewDiscrepancy, 'detectedAt' | 'correlationId' | 'lookedAt'> {
  const base = { accountId: look.accountId, exchangeId: look.exchangeId, kind: s.kind, subject: s.subject };
  if (s.kind === 'BALANCE') {
    const b = look.balances.find((x) => x.asset === s.subject);
    if (!b) throw new Error(`no balance line for ${s.subject}`);
    return {
      ...base,
      venue: b.venue,
      ledger: b.ledger,
      difference: b.difference,
      tolerance: b.tolerance,
      message: `${b.asset} on ${look.accountId}: venue ${b.venue.toString()}, ledger ${b.ledger.toString()} (difference ${b.difference.toString()}, tolerance ${b.tolerance.toString()})`,
    };
  }
  const o = look.orders.find((x) => x.kind === s.kind && x.subject === s.subject);
  const what = o ? `${o.symbol} ${o.side}` : '';
  return {
    ...base,
    message:
      s.kind === 'UNKNOWN_VENUE_ORDER'
        ? `order ${s.subject} ${what} (client id ${o?.clientOrderId ?? 'none'}) is open at the venue of ${look.accountId} but not open in Garde's books`
        : `order ${s.subject} ${what} (bot ${o?.botId ?? 'none'}) is open in Garde's books but gone from the venue of ${look.accountId}`,
  };
}

const clip = (text: string) => (text.length <= REASON_MAX ? text : `${text.slice(0, REASON_MAX - 1)}…`);
