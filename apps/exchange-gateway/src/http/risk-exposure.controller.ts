import { Controller, Get, Query, Req } from '@nestjs/common';
import { RiskExposureReportQry } from '@garde/contracts';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import { ServiceClient } from './service-client.js';

/** Positions, open orders, PnL and drawdown against their limits, owned by risk-service: read by any role. */
@Controller('api/v1/risk/exposure')
export class RiskExposureController {
  constructor(private readonly services: ServiceClient) {}

  @Get()
  @RequireRole('viewer')
  report(@Req() req: AuthenticatedRequest, @Query('exchange') exchange?: string, @Query('bot') bot?: string) {
    return this.services.call(
      RiskExposureReportQry,
      { ...(exchange !== undefined ? { exchangeId: exchange } : {}), ...(bot !== undefined ? { botId: bot } : {}) },
      req.actor,
    );
  }
}
