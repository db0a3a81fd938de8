import { Decimal } from '@garde/domain';

/** One step of mulberry32, a tiny seeded PRNG (enough for a reproducible price path, not for secrets): the next state and output. */
function mulberry32(state: number): { state: number; value: number } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: next, value: (t ^ (t >>> 14)) >>> 0 };
}

/** FNV-1a, so each symbol gets its own stream from one venue seed (adding a symbol moves no other path). */
function hashString(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const SHOCK_RESOLUTION = 1_000_000;

/**
 * A reproducible random walk for one symbol: each step multiplies the price by (1 + volatility × u),
 * u uniform in [-1, 1] with 6 decimal places, and rounds to the tick. Integer randomness and exact
 * decimals only, so the same seed gives the same prices on every machine.
 */
export class PriceWalk {
  /** Where the generator is: saved with the venue's state, so that a restarted venue walks on from there. */
  private rng: number;

  constructor(
    seed: number,
    symbol: string,
    private readonly volatility: Decimal,
    private readonly tickSize: Decimal,
    position?: number,
  ) {
    this.rng = position ?? (seed ^ hashString(symbol)) >>> 0;
  }

  /** The generator's state, to resume this walk where it is (`position` of the constructor). */
  get position(): number {
    return this.rng;
  }

  step(price: Decimal): Decimal {
    const { state, value } = mulberry32(this.rng);
    this.rng = state;
    const shock = BigInt((value % (2 * SHOCK_RESOLUTION + 1)) - SHOCK_RESOLUTION);
    const u = Decimal.of(shock).dividedBy(Decimal.of(BigInt(SHOCK_RESOLUTION)), 6, 'down');
    const next = price.times(Decimal.ONE.plus(this.volatility.times(u))).roundToStep(this.tickSize, 'half-up');
    return Decimal.max(next, this.tickSize);
  }
}
