import { stopOnSignals } from '@garde/platform';
import { startRiskService } from './app.js';

stopOnSignals(await startRiskService());
