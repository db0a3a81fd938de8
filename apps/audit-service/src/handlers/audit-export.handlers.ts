import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AuditExportPageQry, AuditExportSealQry, AuditPurgeCmd } from '@garde/contracts';
import { MessageBus } from '@garde/platform';
import { ReadExportPage } from '../use-cases/export-audit-trail/read-export-page.use-case.js';
import { SealAuditExport } from '../use-cases/export-audit-trail/seal-audit-export.use-case.js';
import { PurgeAuditTrail } from '../use-cases/purge-audit-trail/purge-audit-trail.use-case.js';

/** Exports (RB-013) and retention on the bus: the signed manifest, the file's pages, the purge. */
@Injectable()
export class AuditExportHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly bus: MessageBus,
    private readonly seal: SealAuditExport,
    private readonly page: ReadExportPage,
    private readonly purge: PurgeAuditTrail,
  ) {}

  onApplicationBootstrap(): void {
    const queue = this.bus.topology.queueGroup('audit-service');
    this.bus.serve(AuditExportSealQry, queue, (p, env) => this.seal.execute(p, env.actor?.id ?? env.producer));
    this.bus.serve(AuditExportPageQry, queue, (p) => this.page.execute(p));
    this.bus.serve(AuditPurgeCmd, queue, (p, env) =>
      this.purge.execute(p, { actor: env.actor, actorId: env.actor?.id ?? env.producer, correlationId: env.correlationId, causationId: env.messageId }),
    );
  }
}
