// `npm run simulator`: the simulated venues from the environment (see config.ts), until Ctrl-C.
import { configFromEnv } from './config.js';
import { startSimulator } from './simulator.js';

const simulator = await startSimulator(configFromEnv(process.env));
for (const v of simulator.venues) console.log(`venue ${v.id}: ${v.url}  (admin: ${v.url}/__sim/state, ${v.controlUrl}/faults)`);
console.log(`control: ${simulator.controlUrl}/__sim/venues`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void simulator.stop().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
