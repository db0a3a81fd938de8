import { stopOnSignals } from '@garde/platform';
import { startAuditService } from './app.js';

stopOnSignals(await startAuditService());
