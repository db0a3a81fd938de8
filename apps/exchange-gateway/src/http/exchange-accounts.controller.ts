import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { AddExchangeAccount, RemoveExchangeAccount, describeIssues } from '@garde/contracts';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { ExchangeAccountRepository, toExchangeAccount } from '../persistence/exchange-account.repository.js';
import { AddExchangeAccountUseCase } from '../use-cases/add-exchange-account/add-exchange-account.use-case.js';
import { VenueHealthMonitor } from '../state/venue-health.js';
import { RemoveExchangeAccountUseCase } from '../use-cases/remove-exchange-account/remove-exchange-account.use-case.js';

/** Exchange accounts: the gateway owns them (and is the only holder of their credentials). */
@Controller('api/v1/exchange-accounts')
export class ExchangeAccountsController {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly add: AddExchangeAccountUseCase,
    private readonly remove: RemoveExchangeAccountUseCase,
  ) {}

  @Get()
  @RequireRole('viewer')
  async list() {
    return { accounts: (await this.accounts.list()).map(toExchangeAccount) };
  }

  @Post()
  @RequireRole('admin')
  create(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    const input = AddExchangeAccount.safeParse(body);
    if (!input.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(input.error));
    return this.add.execute(input.data, req.actor);
  }

  @Post(':id/remove')
  @HttpCode(200)
  @RequireRole('admin')
  removeOne(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown) {
    const input = RemoveExchangeAccount.safeParse({ ...(body && typeof body === 'object' ? body : {}), id });
    if (!input.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(input.error));
    return this.remove.execute(input.data, req.actor);
  }
}

/** Venue health (RB-001): each exchange account's venue as this gateway replica sees it. */
@Controller('api/v1/venues')
export class VenuesController {
  constructor(private readonly health: VenueHealthMonitor) {}

  @Get('health')
  @RequireRole('viewer')
  async list(@Query('exchange') exchange?: string) {
    const venues = await this.health.list();
    return { venues: exchange ? venues.filter((v) => v.exchangeId === exchange) : venues };
  }
}
