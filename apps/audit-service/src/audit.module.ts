import { Module } from '@nestjs/common';
import { AuditQueryHandlers } from './handlers/audit-query.handlers.js';
import { AuditStreamConsumer } from './handlers/audit-stream.consumer.js';
import { AuditMetrics } from './metrics/audit.metrics.js';
import { AuditEventRepository } from './persistence/audit-event.repository.js';
import { AppendAuditEvents } from './use-cases/append-audit-events/append-audit-events.use-case.js';
import { ListAuditEvents } from './use-cases/list-audit-events/list-audit-events.use-case.js';
import { VerifyAuditChain } from './use-cases/verify-audit-chain/verify-audit-chain.use-case.js';

@Module({
  providers: [AuditMetrics, AuditEventRepository, AppendAuditEvents, VerifyAuditChain, ListAuditEvents, AuditQueryHandlers, AuditStreamConsumer],
})
export class AuditModule {}
