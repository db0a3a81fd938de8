import { Injectable } from '@nestjs/common';
import { Envelope, type AuditRecord } from '@garde/contracts';
import { AuditEventRepository, type AuditEventFilter } from '../../persistence/audit-event.repository.js';

export type ListAuditEventsQuery = Omit<AuditEventFilter, 'since'> & { since?: string | undefined; limit: number };

/** Events of the trail, most recent first, filtered (type, actor, correlation, order, levels, producer, time), paged by sequence. */
@Injectable()
export class ListAuditEvents {
  constructor(private readonly repository: AuditEventRepository) {}

  async execute(query: ListAuditEventsQuery): Promise<{ events: AuditRecord[] }> {
    const rows = await this.repository.latest({ ...query, since: query.since === undefined ? undefined : new Date(query.since) }, query.limit);
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
