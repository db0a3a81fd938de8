// Runs the repository's TypeScript directly on Node 20 (ESM), compiled by swc in memory:
//   node --import ./tools/register.mjs apps/risk-service/src/main.ts
// Relative imports are written with `.js` (TypeScript nodenext style) and resolved to the `.ts` beside.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
