import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { SimulatorConfig, type SimulatorConfigInput } from './config.js';
import { handleAdmin } from './http/admin-api.js';
import { sendJson } from './http/http-io.js';
import { Venue } from './venue.js';

export interface RunningVenue {
  readonly id: string;
  /** Base URL of the venue's Binance API, e.g. `http://127.0.0.1:4600` (paths `/api/v3/…`). */
  readonly url: string;
  /** This venue's admin routes on the control port (work even while the venue refuses connections). */
  readonly controlUrl: string;
  readonly venue: Venue;
}

export interface RunningSimulator {
  readonly venues: readonly RunningVenue[];
  /** `http://host:port` of the control server: GET /__sim/venues, /__sim/venues/<id>/… */
  readonly controlUrl: string;
  venue(id: string): RunningVenue;
  stop(): Promise<void>;
}

/** Starts every configured venue on its own port, plus one control server for all of them. */
export async function startSimulator(input: SimulatorConfigInput, clock: () => number = Date.now): Promise<RunningSimulator> {
  const config = SimulatorConfig.parse(input);
  const ids = new Set(config.venues.map((v) => v.id));
  if (ids.size !== config.venues.length) throw new RangeError('venue ids must be unique');
  const venues = config.venues.map((v) => new Venue(v, clock));
  const started: Venue[] = [];
  let control: Server | undefined;
  try {
    for (const venue of venues) {
      await venue.start();
      started.push(venue);
    }
    control = await startControlServer(venues, config.host, config.controlPort);
  } catch (err) {
    await Promise.all(started.map((v) => v.stop()));
    throw err;
  }
  const controlServer = control;
  const controlUrl = `http://${config.host}:${(controlServer.address() as AddressInfo).port}`;
  const running = venues.map((venue) => ({ id: venue.id, url: venue.url, controlUrl: `${controlUrl}/__sim/venues/${venue.id}`, venue }));
  return {
    venues: running,
    controlUrl,
    venue(id) {
      const found = running.find((v) => v.id === id);
      if (!found) throw new RangeError(`no venue ${id}`);
      return found;
    },
    async stop() {
      await Promise.all(venues.map((v) => v.stop()));
      await new Promise<void>((resolve) => {
        controlServer.close(() => resolve());
        controlServer.closeAllConnections();
      });
    },
  };
}

function startControlServer(venues: readonly Venue[], host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const match = /^\/__sim\/venues(?:\/([^/]+)(?:\/(.*))?)?$/.exec(url.pathname);
    if (!match) return sendJson(res, 404, { error: 'no such route' });
    const [, id, rest] = match;
    if (id === undefined)
      return sendJson(
        res,
        200,
        venues.map((v) => ({ id: v.id, url: v.url, listening: v.isListening, faults: v.faults })),
      );
    const venue = venues.find((v) => v.id === id);
    if (!venue) return sendJson(res, 404, { error: `no venue ${id}` });
    handleAdmin(venue, req, res, rest ?? '').catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
