import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  AuditChainVerifyQry,
  AuditEventsQry,
  AuditExportFormat,
  type AuditEventsQuery,
  AuditExportPageQry,
  AuditExportSealQry,
  AuditPurgeCmd,
  AuditSignerQry,
  BotCreateCmd,
  BotGetQry,
  BotListQry,
  BotPauseCmd,
  BotResumeCmd,
  BotStartCmd,
  BotStopCmd,
  CancelOrder,
  KillSwitchActivateCmd,
  KillSwitchDeactivateCmd,
  KillSwitchStatusQry,
  SubmitOrder,
  describeIssues,
  type RequestDef,
} from '@garde/contracts';
import { JsonLogger, SERVICE_CONFIG, errorFields } from '@garde/platform';
import { RequireRole, type AuthenticatedRequest } from '../auth/api-auth.guard.js';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';
import { VenueOrderRepository, toOrder } from '../persistence/venue-order.repository.js';
import { KillSwitchGate } from '../state/kill-switch-gate.js';
import { CancelOrderUseCase } from '../use-cases/cancel-order/cancel-order.use-case.js';
import { ResolveOrder } from '../use-cases/resolve-order/resolve-order.use-case.js';
import { SubmitOrderUseCase } from '../use-cases/submit-order/submit-order.use-case.js';
import { exportFileText } from './audit-export-file.js';
import { buildOpenApiDocument } from './openapi.js';
import { ServiceClient } from './service-client.js';

type Json = Record<string, unknown>;
const object = (body: unknown): Json => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Json) : {});

@Controller('api/v1/kill-switch')
export class KillSwitchController {
  constructor(
    private readonly services: ServiceClient,
    private readonly gate: KillSwitchGate,
  ) {}

  @Get()
  @RequireRole('viewer')
  status(@Req() req: AuthenticatedRequest, @Query('scope') scope?: string) {
    return this.services.call(KillSwitchStatusQry, scope ? { scope } : {}, req.actor);
  }

  @Post('activate')
  @HttpCode(200)
  @RequireRole('operator')
  async activate(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    // This gateway stops the scope's orders as it accepts the command, before risk-service has it (whose
    // announcement reaches the other replicas); a refused command stops counting here at once.
    const payload = object(body);
    // An invalid body is announced nowhere: the call below answers it CONTRACT_VIOLATION.
    const checked = KillSwitchActivateCmd.payload.safeParse(payload);
    const pending = checked.success ? this.gate.announce({ ...checked.data, actor: req.actor, requestedAt: new Date().toISOString() }) : undefined;
    try {
      return await this.services.call(KillSwitchActivateCmd, payload, req.actor);
    } catch (err) {
      // No answer (TIMEOUT): risk-service may still record it; the announcement lasts its time.
      if (pending && !(err instanceof GatewayException && err.code === 'TIMEOUT')) this.gate.withdraw(pending);
      throw err;
    }
  }

  @Post('deactivate')
  @HttpCode(200)
  @RequireRole('risk')
  deactivate(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(KillSwitchDeactivateCmd, object(body), req.actor);
  }
}

const LIFECYCLE: Record<string, RequestDef> = { start: BotStartCmd, pause: BotPauseCmd, resume: BotResumeCmd, stop: BotStopCmd };

@Controller('api/v1/bots')
export class BotsController {
  constructor(
    private readonly services: ServiceClient,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  @RequireRole('viewer')
  list(@Req() req: AuthenticatedRequest, @Query('state') state?: string, @Query('exchangeId') exchangeId?: string) {
    return this.services.call(BotListQry, { ...(state ? { state } : {}), ...(exchangeId ? { exchangeId } : {}) }, req.actor);
  }

  @Post()
  @RequireRole('operator')
  create(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(BotCreateCmd, object(body), req.actor);
  }

  @Get(':id')
  @RequireRole('viewer')
  get(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.services.call(BotGetQry, { botId: id }, req.actor);
  }

  @Post(':id/:action')
  @HttpCode(200)
  @RequireRole('operator')
  lifecycle(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Param('action') action: string, @Body() body: unknown) {
    const def = LIFECYCLE[action];
    if (!def) throw new GatewayException('NOT_FOUND', `unknown bot action "${action}": expected ${Object.keys(LIFECYCLE).join(', ')}`);
    const input = object(body);
    // A stop that cancels the bot's orders waits for its sends in flight, then for the venues.
    const slow = def === BotStopCmd && input.cancelOrders === true;
    return this.services.call(def, { ...input, botId: id }, req.actor, slow ? this.config.BOT_STOP_TIMEOUT_MS : undefined);
  }
}

@Controller('api/v1/orders')
export class OrdersController {
  constructor(
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly cancelOrder: CancelOrderUseCase,
    private readonly resolveOrder: ResolveOrder,
    private readonly orders: VenueOrderRepository,
  ) {}

  /** Ask the venue what a (stuck) order is and record it; never re-sends (RB-005). */
  @Post(':clientOrderId/resolve')
  @HttpCode(200)
  @RequireRole('operator')
  resolve(@Req() req: AuthenticatedRequest, @Param('clientOrderId') clientOrderId: string) {
    return this.resolveOrder.execute(clientOrderId, req.actor);
  }

  /** Cancel one order (never gated by the kill switch). */
  @Post(':clientOrderId/cancel')
  @HttpCode(200)
  @RequireRole('operator')
  cancel(@Req() req: AuthenticatedRequest, @Param('clientOrderId') clientOrderId: string, @Body() body: unknown) {
    const input = CancelOrder.safeParse({ ...object(body), clientOrderId });
    if (!input.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(input.error));
    return this.cancelOrder.execute(input.data, { actor: req.actor });
  }

  @Get(':clientOrderId')
  @RequireRole('viewer')
  async get(@Param('clientOrderId') clientOrderId: string) {
    const row = await this.orders.get(clientOrderId);
    if (!row) throw new GatewayException('NOT_FOUND', `no order ${clientOrderId}`);
    return toOrder(row);
  }

  /** A manual order from an operator: the same gate as the bots' orders. */
  @Post()
  @RequireRole('operator')
  async submit(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    const order = SubmitOrder.safeParse(body);
    if (!order.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(order.error));
    return this.submitOrder.execute(order.data, { actor: req.actor });
  }
}

@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly services: ServiceClient,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
    private readonly logger: JsonLogger,
  ) {}

  /** Reads every row of its range: the audit-service's long timeout. */
  @Get('verify')
  @RequireRole('viewer')
  verify(@Req() req: AuthenticatedRequest, @Query('from') from?: string, @Query('to') to?: string) {
    const range = { ...(from ? { fromSequence: positiveInt(from, 'from') } : {}), ...(to ? { toSequence: positiveInt(to, 'to') } : {}) };
    return this.services.call(AuditChainVerifyQry, range, req.actor, this.config.AUDIT_REQUEST_TIMEOUT_MS);
  }

  @Get('events')
  @RequireRole('viewer')
  events(@Req() req: AuthenticatedRequest, @Query() query: Record<string, string | undefined>) {
    const { type, actorId, correlationId, order, bot, level, service, since, before, limit } = query;
    const filter: AuditEventsQuery = {
      ...(type ? { type } : {}),
      ...(actorId ? { actorId } : {}),
      ...(correlationId ? { correlationId } : {}),
      ...(order ? { clientOrderId: order } : {}),
      ...(bot ? { botId: bot } : {}),
      ...(level ? { levels: level.split(',') as NonNullable<AuditEventsQuery['levels']> } : {}),
      ...(service ? { producer: service } : {}),
      ...(since ? { since } : {}),
      ...(before ? { beforeSequence: positiveInt(before, 'before') } : {}),
      ...(limit ? { limit: positiveInt(limit, 'limit') } : {}),
    };
    return this.services.call(AuditEventsQry, filter, req.actor);
  }

  /** The audit-service's public key: what a verifier of exports pins (RB-013). */
  @Get('signer')
  @RequireRole('viewer')
  signer(@Req() req: AuthenticatedRequest) {
    return this.services.call(AuditSignerQry, {}, req.actor);
  }

  /** The signed manifest of an export (the audit-service reads and verifies the whole period first). */
  @Post('exports')
  @HttpCode(200)
  @RequireRole('viewer')
  seal(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(AuditExportSealQry, object(body), req.actor, this.config.AUDIT_REQUEST_TIMEOUT_MS);
  }

  /**
   * The export file itself (RB-013), streamed in constant memory: the slice a sealed manifest names
   * (`from` and `to` are its first and last sequences), whole records in order. Nothing is sent before
   * the first page is read, so a bad request is a plain error; a failure after that cuts the response
   * short, and the console keeps nothing (the file would not match its manifest).
   */
  @Get('exports/file')
  @RequireRole('viewer')
  async file(@Req() req: AuthenticatedRequest, @Res() res: Response, @Query() query: Record<string, string | undefined>): Promise<void> {
    const format = AuditExportFormat.safeParse(query.format);
    if (!format.success) throw new GatewayException('INVALID_REQUEST', `format must be jsonl or csv, not "${query.format ?? ''}"`);
    const [from, to] = [required(query.from, 'from'), required(query.to, 'to')];
    const text = exportFileText((page) => this.services.call(AuditExportPageQry, page, req.actor), format.data, from, to);
    let chunk = await text.next();
    res.status(200).type(format.data === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    try {
      for (; !chunk.done; chunk = await text.next()) {
        if (!res.write(chunk.value)) await writable(res);
        if (res.destroyed) {
          await text.return(undefined);
          return;
        }
      }
      res.end();
    } catch (err) {
      this.logger.child('http').warn('audit export cut short', errorFields(err));
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Deletes rows older than the retention, through a signed checkpoint (admin). */
  @Post('purge')
  @HttpCode(200)
  @RequireRole('admin')
  purge(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.services.call(AuditPurgeCmd, object(body), req.actor, this.config.AUDIT_REQUEST_TIMEOUT_MS);
  }
}

function required(value: string | undefined, name: string): number {
  if (value === undefined) throw new GatewayException('INVALID_REQUEST', `${name} is required (a sequence, from the export's manifest)`);
  return positiveInt(value, name);
}

/** Resolves once the response can take more (or is gone). */
function writable(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function positiveInt(value: string, name: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new GatewayException('INVALID_REQUEST', `${name} must be a positive integer, not "${value}"`);
  return Number(value);
}

@Controller('api/v1')
export class MetaController {
  /** The OpenAPI document of this API (public). */
  @Get('openapi.json')
  openapi() {
    return buildOpenApiDocument();
  }

  /** Who the token is. */
  @Get('whoami')
  @RequireRole('viewer')
  whoami(@Req() req: AuthenticatedRequest) {
    return req.actor;
  }
}

/** Stuck orders (RB-005): not final, and no venue report for longer than STUCK_AFTER_MS. */
@Controller('api/v1/stuck-orders')
export class StuckOrdersController {
  constructor(
    private readonly orders: VenueOrderRepository,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  @RequireRole('viewer')
  async list(@Query('exchange') exchange?: string) {
    const rows = await this.orders.stuck(new Date(Date.now() - this.config.STUCK_AFTER_MS), exchange || undefined);
    return { stuckAfterMs: this.config.STUCK_AFTER_MS, orders: rows.map(toOrder) };
  }
}
