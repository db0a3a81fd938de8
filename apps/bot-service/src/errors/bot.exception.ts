import { ServiceError } from '@garde/platform';

/** bot-service's one exception type; the bus maps its code into the reply. */
export class BotException extends ServiceError {}
