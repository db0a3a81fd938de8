import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Decimal } from '@garde/domain';
import { type AccountConfig, type VenueConfig } from './config.js';
import { MatchingEngine, type EngineSnapshot } from './engine/matching-engine.js';
import { PriceWalk } from './engine/price-walk.js';
import { toSymbolSpec } from './engine/symbols.js';
import { type Trade, type VenueOrder } from './engine/types.js';
import { type ActiveFaults, type FaultSettings, mergeFaults } from './faults/fault-settings.js';
import { RateLimiter } from './faults/rate-limiter.js';
import { handleAdmin } from './http/admin-api.js';
import { handleBinance } from './http/binance-api.js';
import { sendJson } from './http/http-io.js';

/** What a venue writes to its `stateFile`. */
interface VenueSnapshot {
  readonly version: 1;
  readonly venueId: string;
  readonly savedAt: string;
  readonly engine: EngineSnapshot;
  /** Each symbol's price path position (PriceWalk). */
  readonly walks: Record<string, number>;
  /** The venue's API keys and their secrets (accounts opened through the admin API survive a restart too). */
  readonly secrets: Record<string, string>;
}

/** Ticks without a fill between two saves of the prices alone (a fill, an order or a cancel saves at once). */
const TICKS_PER_PRICE_SAVE = 10;

/**
 * One simulated venue: its market (engine), accounts, faults, rate limits and HTTP server. Several
 * can live in one process, each on its own port with its own state.
 */
export class Venue {
  readonly engine: MatchingEngine;
  readonly limiter: RateLimiter;
  readonly makerFee: Decimal;
  readonly takerFee: Decimal;
  private readonly secrets = new Map<string, string>();
  private readonly walks = new Map<string, PriceWalk>();
  private readonly server: Server;
  private active: ActiveFaults = {};
  private timer: NodeJS.Timeout | undefined;
  private boundPort: number;
  private listening = false;
  private ticksUnsaved = 0;

  constructor(
    readonly config: VenueConfig,
    readonly clock: () => number = Date.now,
  ) {
    this.makerFee = Decimal.of(config.makerFee);
    this.takerFee = Decimal.of(config.takerFee);
    const symbols = config.symbols.map(toSymbolSpec);
    this.engine = new MatchingEngine({
      symbols,
      makerFee: this.makerFee,
      takerFee: this.takerFee,
      clock,
      // Decided at each price update, so clearing the fault lets held orders fill at once.
      isHeld: (order) => order.neverFill && this.active.neverFill === true,
    });
    for (const spec of symbols) this.walks.set(spec.id, new PriceWalk(config.seed, spec.id, Decimal.of(config.volatility), spec.tickSize));
    this.limiter = new RateLimiter(config.rateLimits, clock);
    for (const account of config.accounts) this.openAccount(account);
    if (config.stateFile) {
      if (existsSync(config.stateFile)) this.load(config.stateFile);
      else mkdirSync(path.dirname(config.stateFile), { recursive: true });
    }
    this.boundPort = config.port;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  get id(): string {
    return this.config.id;
  }

  get url(): string {
    return `http://${this.config.host}:${this.boundPort}`;
  }

  get isListening(): boolean {
    return this.listening;
  }

  async start(): Promise<void> {
    await this.listen(this.config.port);
    if (this.config.tickIntervalMs > 0) {
      this.timer = setInterval(() => this.tick(1), this.config.tickIntervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.listening) await this.closeServer();
    this.save();
  }

  /**
   * Writes the venue's books to its `stateFile` (when it has one), whole, through a temporary file and a
   * rename: a crash leaves the previous state or the new one, never half of one.
   */
  save(): void {
    const file = this.config.stateFile;
    if (!file) return;
    const snapshot: VenueSnapshot = {
      version: 1,
      venueId: this.id,
      savedAt: new Date(this.clock()).toISOString(),
      engine: this.engine.snapshot(),
      walks: Object.fromEntries([...this.walks].map(([symbol, walk]) => [symbol, walk.position])),
      secrets: Object.fromEntries(this.secrets),
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
    renameSync(`${file}.tmp`, file);
    this.ticksUnsaved = 0;
  }

  /** Reads the books a previous run saved; refuses to start on a file it cannot take whole. */
  private load(file: string): void {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as VenueSnapshot;
      if (saved.version !== 1) throw new Error(`unknown version ${String(saved.version)}`);
      if (saved.venueId !== this.id) throw new Error(`it holds venue "${saved.venueId}"`);
      this.engine.restore(saved.engine);
      // The configured accounts' secrets win; the others (opened through the admin API) come back as saved.
      for (const [apiKey, secret] of Object.entries(saved.secrets)) if (!this.secrets.has(apiKey)) this.secrets.set(apiKey, secret);
      for (const [symbol, position] of Object.entries(saved.walks)) {
        // spec() refuses a symbol the venue no longer lists, as the engine's restore does.
        this.walks.set(symbol, new PriceWalk(this.config.seed, symbol, Decimal.of(this.config.volatility), this.engine.spec(symbol).tickSize, position));
      }
    } catch (err) {
      throw new Error(
        `venue ${this.id}: cannot resume from ${file} (${err instanceof Error ? err.message : String(err)}); move it away to start this venue afresh`,
      );
    }
  }

  openAccount(account: AccountConfig): void {
    this.engine.ledger.open(account.apiKey, account.balances);
    this.secrets.set(account.apiKey, account.secret);
  }

  secretOf(apiKey: string): string | undefined {
    return this.secrets.get(apiKey);
  }

  accountKeys(): string[] {
    return [...this.secrets.keys()];
  }

  /** Advances every symbol's random walk by `steps`, filling what the new prices reach. */
  tick(steps: number): Trade[] {
    const trades: Trade[] = [];
    for (let i = 0; i < steps; i++) {
      for (const [symbol, walk] of this.walks) trades.push(...this.engine.setPrice(symbol, walk.step(this.engine.price(symbol))));
    }
    if (trades.length > 0 || (this.ticksUnsaved += steps) >= TICKS_PER_PRICE_SAVE) {
      try {
        this.save();
      } catch (err) {
        // The prices walk on (the next fill, order or stop saves again); a request's save fails its request.
        console.error(`venue ${this.id}: could not save its books to ${this.config.stateFile}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return trades;
  }

  get faults(): Readonly<ActiveFaults> {
    return this.active;
  }

  /** Applies a fault update at once; refusing connections happens after `beforeRefuse` (to answer first). */
  async applyFaults(update: FaultSettings): Promise<void> {
    if (update.driftBalance) {
      const { apiKey, asset, delta } = update.driftBalance;
      if (!this.secrets.has(apiKey)) throw new RangeError(`unknown account ${apiKey}`);
      this.engine.ledger.drift(apiKey, asset, Decimal.of(delta));
      this.save();
    }
    this.active = mergeFaults(this.active, update);
    await this.syncListening();
  }

  async clearFaults(): Promise<void> {
    this.active = {};
    this.limiter.reset();
    await this.syncListening();
  }

  /** Whether queries should hide the truth about this order now (the `neverReport` fault). */
  reportMode(order: VenueOrder): 'truth' | 'stale' | 'missing' {
    const fault = this.active.neverReport;
    return order.unreported && fault ? fault.mode : 'truth';
  }

  private async syncListening(): Promise<void> {
    const refuse = this.active.refuseConnections === true;
    if (refuse && this.listening) await this.closeServer();
    else if (!refuse && !this.listening) await this.listen(this.boundPort);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://venue');
      if (url.pathname.startsWith('/__sim/')) {
        await handleAdmin(this, req, res, url.pathname.slice('/__sim/'.length));
        return;
      }
      await handleBinance(this, req, res, url);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { code: -1000, msg: err instanceof Error ? err.message : String(err) });
    }
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, this.config.host, () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private closeServer(): Promise<void> {
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // Drops kept-alive and hanging sockets too: clients see the venue go, not a slow answer.
      this.server.closeAllConnections();
    });
  }
}
