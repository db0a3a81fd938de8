import { Module } from '@nestjs/common';
import { AuditExportHandlers } from './handlers/audit-export.handlers.js';
import { AuditQueryHandlers } from './handlers/audit-query.handlers.js';
import { AuditStreamConsumer } from './handlers/audit-stream.consumer.js';
import { CheckpointTimer } from './handlers/checkpoint.timer.js';
import { AuditMetrics } from './metrics/audit.metrics.js';
import { AuditCheckpointRepository } from './persistence/audit-checkpoint.repository.js';
import { AuditEventRepository } from './persistence/audit-event.repository.js';
import { AuditSigner } from './signing/audit-signer.js';
import { AppendAuditEvents } from './use-cases/append-audit-events/append-audit-events.use-case.js';
import { CreateCheckpoint } from './use-cases/create-checkpoint/create-checkpoint.use-case.js';
import { ReadExportPage } from './use-cases/export-audit-trail/read-export-page.use-case.js';
import { SealAuditExport } from './use-cases/export-audit-trail/seal-audit-export.use-case.js';
import { ListAuditEvents } from './use-cases/list-audit-events/list-audit-events.use-case.js';
import { PurgeAuditTrail } from './use-cases/purge-audit-trail/purge-audit-trail.use-case.js';
import { VerifyAuditChain } from './use-cases/verify-audit-chain/verify-audit-chain.use-case.js';

@Module({
  providers: [
    AuditMetrics,
    AuditSigner,
    AuditEventRepository,
    AuditCheckpointRepository,
    AppendAuditEvents,
    VerifyAuditChain,
    ListAuditEvents,
    CreateCheckpoint,
    SealAuditExport,
    ReadExportPage,
    PurgeAuditTrail,
    AuditQueryHandlers,
    AuditExportHandlers,
    AuditStreamConsumer,
    CheckpointTimer,
  ],
})
export class AuditModule {}
