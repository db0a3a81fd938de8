import { ServiceError } from '@garde/platform';

/** audit-service's one exception type; the bus maps its code into the reply. */
export class AuditException extends ServiceError {}
