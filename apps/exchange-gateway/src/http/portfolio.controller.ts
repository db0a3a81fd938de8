import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { DiscrepanciesQry, ReconcileApplyCmd, ReconcileQry } from '@garde/contracts';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { ServiceClient } from './service-client.js';

/**
 * A reconciliation asks every venue (through this gateway) for balances and open orders, then waits for
 * the ledger to catch up with the fills: longer than an ordinary request, bounded by risk-service's
 * RECONCILE_VENUE_TIMEOUT_MS (20 s) and RECONCILE_CATCH_UP_TIMEOUT_MS (5 s).
 */
export const RECONCILE_TIMEOUT_MS = 45_000;

/** Reconciliation (RB-003, RB-012), owned by risk-service: read by any role, applied by the risk or admin role (risk-service checks it again). */
@Controller('api/v1/portfolio')
export class PortfolioController {
  constructor(private readonly services: ServiceClient) {}

  @Get('discrepancies')
  @RequireRole('viewer')
  discrepancies(@Req() req: AuthenticatedRequest, @Query('all') all?: string, @Query('exchange') exchange?: string) {
    if (all !== undefined && all !== 'true' && all !== 'false') throw new GatewayException('INVALID_REQUEST', 'all is true or false');
    return this.services.call(DiscrepanciesQry, { all: all === 'true', ...(exchange ? { exchangeId: exchange } : {}) }, req.actor);
  }

  @Get('reconciliation')
  @RequireRole('viewer')
  reconcile(@Req() req: AuthenticatedRequest, @Query('exchange') exchange?: string) {
    return this.services.call(ReconcileQry, exchange ? { exchangeId: exchange } : {}, req.actor, RECONCILE_TIMEOUT_MS);
  }

  @Post('reconciliation')
  @HttpCode(200)
  @RequireRole('risk')
  apply(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(ReconcileApplyCmd, body && typeof body === 'object' && !Array.isArray(body) ? body : {}, req.actor, RECONCILE_TIMEOUT_MS);
  }
}
