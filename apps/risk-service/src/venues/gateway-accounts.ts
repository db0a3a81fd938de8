import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import {
  BalancesQry,
  BotListQry,
  LiveOrdersQry,
  OpenOrdersQry,
  type AccountBalances,
  type Order,
  type RequestDef,
  type VenueOpenOrders,
} from '@garde/contracts';
import { MessageBus, SERVICE_CONFIG, type MessageContext } from '@garde/platform';
import type { RiskConfig } from '../config/risk.config.js';
import { RiskException } from '../errors/risk.exception.js';

/** bot-service answers its list from PostgreSQL: a few ms; no answer in this long = not there. */
const BOT_LIST_TIMEOUT_MS = 3000;

/**
 * What reconciliation asks other services, over the bus: the venues' balances and open orders (the
 * gateway reads them from the venues now), the orders the gateway holds as not final, and the bots of
 * an exchange (bot-service). risk-service reads no other service's tables.
 */
@Injectable()
export class GatewayAccounts {
  constructor(
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: RiskConfig,
  ) {}

  /** Every account's balances at its venue (one line per account; a venue that could not be read has `error`). */
  balances(ctx: MessageContext): Promise<AccountBalances> {
    return this.ask(BalancesQry, {}, ctx);
  }

  /** Every account's open orders at its venue. */
  openOrders(ctx: MessageContext): Promise<VenueOpenOrders> {
    return this.ask(OpenOrdersQry, {}, ctx);
  }

  /** The orders the gateway holds as not final for one account. */
  async liveOrders(accountId: string, ctx: MessageContext): Promise<Order[]> {
    return (await this.ask(LiveOrdersQry, { accountId }, ctx)).orders;
  }

  /**
   * The bots bot-service has on an exchange, with their state; undefined when bot-service does not
   * answer (the caller falls back on what it knows itself).
   */
  async botsOn(exchangeId: string, ctx: MessageContext): Promise<Array<{ id: string; state: string }> | undefined> {
    const reply = await this.bus.request(BotListQry, { exchangeId }, ctx, BOT_LIST_TIMEOUT_MS);
    return reply.ok ? reply.result.bots.map((b) => ({ id: b.id, state: b.state })) : undefined;
  }

  private async ask<D extends RequestDef>(def: D, payload: z.input<D['payload']>, ctx: MessageContext): Promise<z.infer<D['result']>> {
    const reply = await this.bus.request(def, payload, ctx, this.config.RECONCILE_VENUE_TIMEOUT_MS);
    if (!reply.ok) {
      throw new RiskException(reply.error.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE', `the gateway could not answer ${def.type}: ${reply.error.message}`, {
        upstream: reply.error.code,
      });
    }
    return reply.result;
  }
}
