import { Injectable } from '@nestjs/common';
import type { OrderFilledEvt, PayloadOf, TypedEnvelope } from '@garde/contracts';
import { Decimal, fillMovements } from '@garde/domain';
import { JsonLogger, type ContextLogger } from '@garde/platform';
import { RiskException } from '../../errors/risk.exception.js';
import { ReconciliationMetrics } from '../../metrics/reconciliation.metrics.js';
import { LedgerRepository } from '../../persistence/ledger.repository.js';

type FilledPayload = PayloadOf<typeof OrderFilledEvt>;

/**
 * Books one fill in the ledger: base ± quantity, quote ∓ quantity × price, the fee in its currency.
 * Once per account and venue trade id: a fill delivered again changes nothing. A fill that is not an
 * execution (zero quantity, bad symbol) is refused INVALID_REQUEST; a database failure is thrown as is
 * (the consumer retries it).
 */
@Injectable()
export class RecordFill {
  private readonly log: ContextLogger;

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly metrics: ReconciliationMetrics,
    logger: JsonLogger,
  ) {
    this.log = logger.child('ledger');
  }

  async execute(payload: FilledPayload, env: TypedEnvelope<FilledPayload>): Promise<'applied' | 'duplicate'> {
    const { order, fill } = payload;
    let booked: ReturnType<typeof fillMovements>;
    try {
      booked = fillMovements({
        symbol: order.symbol,
        side: order.side,
        quantity: Decimal.of(fill.quantity),
        price: Decimal.of(fill.price),
        fee: Decimal.of(fill.fee),
        feeCurrency: fill.feeCurrency,
      });
    } catch (err) {
      throw new RiskException('INVALID_REQUEST', `fill ${fill.tradeId} of ${order.clientOrderId} cannot be booked: ${(err as Error).message}`);
    }
    if (booked.problem) this.log.warn('fill booked in part', { accountId: order.accountId, tradeId: fill.tradeId, problem: booked.problem });
    const applied = await this.ledger.recordFill({
      accountId: order.accountId,
      exchangeId: order.exchangeId,
      tradeId: fill.tradeId,
      clientOrderId: order.clientOrderId,
      botId: order.botId,
      symbol: order.symbol,
      side: order.side,
      price: fill.price,
      quantity: fill.quantity,
      fee: fill.fee,
      feeCurrency: fill.feeCurrency,
      executedAt: new Date(fill.at),
      movements: booked.movements,
      problem: booked.problem,
      messageId: env.messageId,
      correlationId: env.correlationId,
    });
    const outcome = applied ? 'applied' : 'duplicate';
    this.metrics.ledgerFills.inc({ outcome });
    return outcome;
  }
}
