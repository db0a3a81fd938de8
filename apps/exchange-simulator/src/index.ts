export { startSimulator, type RunningSimulator, type RunningVenue } from './simulator.js';
export { type SimulatorConfigInput, type VenueConfigInput, type AccountConfig, DEMO_ACCOUNT } from './config.js';
export { FaultSettings } from './faults/fault-settings.js';
