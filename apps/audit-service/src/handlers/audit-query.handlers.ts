import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AuditChainVerifyQry, AuditEventsQry, AuditSignerQry } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { AuditSigner } from '../signing/audit-signer.js';
import { ListAuditEvents } from '../use-cases/list-audit-events/list-audit-events.use-case.js';
import { VerifyAuditChain } from '../use-cases/verify-audit-chain/verify-audit-chain.use-case.js';

/** The NATS request boundary of the audit trail: contract-checked by the bus, one use case per message. */
@Injectable()
export class AuditQueryHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly verify: VerifyAuditChain,
    private readonly list: ListAuditEvents,
    private readonly signer: AuditSigner,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('audit-service');
    this.bus.serve(AuditChainVerifyQry, queue, (p) => this.verify.execute(p));
    this.bus.serve(AuditEventsQry, queue, (p) => this.list.execute(p));
    // The public half of the signing key, for verifiers (what `audit:verify --export --public-key` pins).
    this.bus.serve(AuditSignerQry, queue, () => Promise.resolve({ ...this.signer.identity, trusted: this.signer.previousKeys }));
  }
}
