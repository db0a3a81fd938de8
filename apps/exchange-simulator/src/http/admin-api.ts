import { type IncomingMessage, type ServerResponse } from 'node:http';
import { Decimal } from '@garde/domain';
import { z } from 'zod';
import { AccountConfig } from '../config.js';
import { VenueError } from '../engine/types.js';
import { FaultSettings, mergeFaults } from '../faults/fault-settings.js';
import { type Venue } from '../venue.js';
import { parseJsonBody, readBody, sendJson } from './http-io.js';
import { stateView } from './state-view.js';

const SetPrice = z.object({ symbol: z.string().min(1), price: z.string().refine(Decimal.isDecimal, 'must be a decimal string') });
const Tick = z.object({ steps: z.number().int().min(1).max(100_000).default(1) });

/**
 * The test and operator surface of a venue (`/__sim/…` on the venue's port, or
 * `/__sim/venues/<id>/…` on the control port): state, prices, accounts and faults. Never faulted.
 */
export async function handleAdmin(venue: Venue, req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
  const raw = await readBody(req);
  try {
    const key = `${req.method ?? 'GET'} ${route.replace(/\/+$/, '')}`;
    switch (key) {
      case 'GET state':
        return sendJson(res, 200, stateView(venue));
      case 'GET faults':
        return sendJson(res, 200, venue.faults);
      case 'POST faults': {
        const update = FaultSettings.parse(parseJsonBody(raw));
        if (update.refuseConnections === true && venue.isListening) {
          // Answer first: refusing closes this very connection when it comes in on the venue's port.
          sendJson(res, 200, mergeFaults(venue.faults, update));
          res.once('finish', () => void venue.applyFaults(update));
          return;
        }
        await venue.applyFaults(update);
        return sendJson(res, 200, venue.faults);
      }
      case 'DELETE faults':
        await venue.clearFaults();
        return sendJson(res, 200, venue.faults);
      case 'POST price': {
        const { symbol, price } = SetPrice.parse(parseJsonBody(raw));
        const id = symbol.replace('/', '');
        const trades = venue.engine.setPrice(id, Decimal.of(price));
        venue.save();
        return sendJson(res, 200, { symbol: id, price: venue.engine.price(id).toString(), fills: trades.length });
      }
      case 'POST tick': {
        const { steps } = Tick.parse(parseJsonBody(raw));
        const trades = venue.tick(steps);
        const prices = Object.fromEntries(venue.engine.symbols().map((s) => [s.id, venue.engine.price(s.id).toString()]));
        return sendJson(res, 200, { prices, fills: trades.length });
      }
      case 'POST accounts': {
        const account = AccountConfig.parse(parseJsonBody(raw));
        venue.openAccount(account);
        venue.save();
        return sendJson(res, 201, { apiKey: account.apiKey });
      }
      default:
        return sendJson(res, 404, { error: `no admin route ${key}` });
    }
  } catch (err) {
    if (err instanceof z.ZodError) return sendJson(res, 400, { error: 'invalid request', issues: err.issues });
    if (err instanceof VenueError) return sendJson(res, 400, { code: err.code, msg: err.msg });
    if (err instanceof RangeError || err instanceof SyntaxError) return sendJson(res, 400, { error: err.message });
    throw err;
  }
}
