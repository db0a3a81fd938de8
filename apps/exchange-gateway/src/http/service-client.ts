import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { describeIssues, type Actor, type RequestDef } from '@garde/contracts';
import { MessageBus, SERVICE_CONFIG } from '@garde/platform';
import type { GatewayConfig } from '../config/gateway.config.js';
import { GatewayException } from '../errors/gateway.exception.js';

/**
 * Forwards an operator's request to the service that owns the data, with the operator as actor.
 * The payload is checked against the contract here first, so a bad body is a 400 that reaches nobody.
 */
@Injectable()
export class ServiceClient {
  constructor(
    private readonly bus: MessageBus,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** `timeoutMs`: how long to wait for the answer (REQUEST_TIMEOUT_MS unless said). */
  async call<D extends RequestDef>(def: D, payload: unknown, actor: Actor, timeoutMs = this.config.REQUEST_TIMEOUT_MS): Promise<z.infer<D['result']>> {
    const checked = def.payload.safeParse(payload);
    if (!checked.success) throw new GatewayException('CONTRACT_VIOLATION', describeIssues(checked.error));
    const reply = await this.bus.request(def, checked.data as z.input<D['payload']>, { actor }, timeoutMs);
    if (!reply.ok) throw new GatewayException(reply.error.code, reply.error.message, reply.error.details);
    return reply.result;
  }
}
