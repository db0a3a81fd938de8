import { ServiceError } from '@garde/platform';

/** risk-service's one exception type; the bus maps its code into the reply. */
export class RiskException extends ServiceError {}
