import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { AddExchangeAccount, RemoveExchangeAccount, ResumeRateLimit, describeIssues, type RateLimitStatus } from '@garde/contracts';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { ExchangeAccountRepository, toExchangeAccount } from '../persistence/exchange-account.repository.js';
import { AddExchangeAccountUseCase } from '../use-cases/add-exchange-account/add-exchange-account.use-case.js';
import { VenueHealthMonitor } from '../state/venue-health.js';
import { RateLimits } from '../state/rate-limits.js';
import { VenueClients } from '../venues/venue-clients.js';
import { RemoveExchangeAccountUseCase } from '../use-cases/remove-exchange-account/remove-exchange-account.use-case.js';

/** Exchange accounts: the gateway owns them (and is the only holder of their credentials). */
@Controller('api/v1/exchange-accounts')
export class ExchangeAccountsController {
  constructor(
    private readonly accounts: ExchangeAccountRepository,
    private readonly add: AddExchangeAccountUseCase,
    private readonly remove: RemoveExchangeAccountUseCase,
    private readonly rateLimits: RateLimits,
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

  @Post(':id/rate-limit/resume')
  @HttpCode(200)
  @RequireRole('risk')
  resumeRateLimit(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown) {
    const input = ResumeRateLimit.safeParse({ ...(body && typeof body === 'object' ? body : {}), accountId: id });
    if (!input.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(input.error));
    return this.rateLimits.resume(input.data.accountId, input.data.reason, req.actor);
  }
}

/** Venue health (RB-001): each exchange account's venue as this gateway replica sees it. */
@Controller('api/v1/venues')
export class VenuesController {
  constructor(
    private readonly health: VenueHealthMonitor,
    private readonly accounts: ExchangeAccountRepository,
    private readonly clients: VenueClients,
    private readonly rateLimits: RateLimits,
  ) {}

  @Get('health')
  @RequireRole('viewer')
  async list(@Query('exchange') exchange?: string) {
    const venues = await this.health.list();
    return { venues: exchange ? venues.filter((v) => v.exchangeId === exchange) : venues };
  }

  /** Each account's rate-limit budget (RB-004); an account whose client is not open yet is opened first. */
  @Get('rate-limits')
  @RequireRole('viewer')
  async rateLimitStatus(@Query('exchange') exchange?: string) {
    const accounts = (await this.accounts.list()).filter((a) => exchange === undefined || a.exchangeId === exchange);
    for (const account of accounts) await this.clients.forAccount(account).catch(() => undefined);
    return { accounts: accounts.map((a) => this.rateLimits.status(a.id)).filter((s): s is RateLimitStatus => s !== undefined) };
  }
}
