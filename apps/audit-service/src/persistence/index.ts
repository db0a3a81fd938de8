import { AuditEventRow } from './audit-event.entity.js';
import { AuditEvent1764403200000 } from './migrations/1764403200000-audit-event.js';
import { AuditQueryIndexes1764662600000 } from './migrations/1764662600000-audit-query-indexes.js';
import { AuditCheckpointsRetention1764900000000 } from './migrations/1764900000000-audit-checkpoints-retention.js';
import { AuditOrderIndex1765100000000 } from './migrations/1765100000000-audit-order-index.js';

export const AUDIT_SCHEMA = 'audit';
export const auditEntities = [AuditEventRow];
export const auditMigrations = [AuditEvent1764403200000, AuditQueryIndexes1764662600000, AuditCheckpointsRetention1764900000000, AuditOrderIndex1765100000000];
export { AuditEventRow };
export * from './audit-event.repository.js';
export * from './audit-checkpoint.repository.js';
