import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { RiskLimitsSetCmd, RiskLimitsShowQry } from '@garde/contracts';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { ServiceClient } from './service-client.js';

/** The risk limits, owned by risk-service: read by any role, changed by the risk or admin role (risk-service checks it again). */
@Controller('api/v1/risk/limits')
export class RiskLimitsController {
  constructor(private readonly services: ServiceClient) {}

  @Get()
  @RequireRole('viewer')
  show(@Req() req: AuthenticatedRequest, @Query('scope') scope?: string, @Query('history') history?: string) {
    if (history !== undefined && history !== 'true' && history !== 'false') throw new GatewayException('INVALID_REQUEST', 'history is true or false');
    return this.services.call(RiskLimitsShowQry, { ...(scope ? { scope } : {}), history: history === 'true' }, req.actor);
  }

  @Post()
  @HttpCode(200)
  @RequireRole('risk')
  set(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(RiskLimitsSetCmd, body && typeof body === 'object' && !Array.isArray(body) ? body : {}, req.actor);
  }
}
