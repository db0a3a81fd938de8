import { Injectable } from '@nestjs/common';
import { Envelope, type AuditRecord } from '@garde/contracts';
import { AuditEventRepository } from '../../persistence/audit-event.repository.js';

export interface ListAuditEventsQuery {
  type?: string | undefined;
  actorId?: string | undefined;
  correlationId?: string | undefined;
  limit: number;
}

/** Events of the trail, most recent first, filtered by type, actor and correlation id. */
@Injectable()
export class ListAuditEvents {
  constructor(private readonly repository: AuditEventRepository) {}

  async execute(query: ListAuditEventsQuery): Promise<{ events: AuditRecord[] }> {
    const rows = await this.repository.latest(query, query.limit);
    return {
      events: rows.map((row) => ({
        sequence: row.sequence,
        recordedAt: row.recordedAt.toISOString(),
        level: row.level,
        // Stored only after validation; parsing again keeps the reply within its contract.
        event: Envelope.parse(row.envelope),
        hash: row.hash,
      })),
    };
  }
}
