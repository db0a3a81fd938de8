import { stopOnSignals } from '@garde/platform';
import { startExchangeGateway } from './app.js';

stopOnSignals(await startExchangeGateway());
