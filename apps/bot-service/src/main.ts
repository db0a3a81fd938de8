import { stopOnSignals } from '@garde/platform';
import { startBotService } from './app.js';

stopOnSignals(await startBotService());
