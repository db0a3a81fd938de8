import { Decimal } from '@garde/domain';
import { type AssetBalance, VenueErrors } from './types.js';

/**
 * Balances of the venue's accounts, per API key and asset, as free + locked. Every move is exact and
 * checked: nothing here can make a balance negative, which is what the property tests hold it to.
 */
export class Ledger {
  private readonly accounts = new Map<string, Map<string, AssetBalance>>();

  open(apiKey: string, balances: Record<string, string>): void {
    const assets = new Map<string, AssetBalance>();
    for (const [asset, amount] of Object.entries(balances)) {
      const free = Decimal.of(amount);
      if (free.isNegative()) throw new RangeError(`negative opening balance for ${asset}`);
      assets.set(asset, { free, locked: Decimal.ZERO });
    }
    this.accounts.set(apiKey, assets);
  }

  /** Every account's balances as decimal strings (a venue's saved state). */
  snapshot(): Record<string, Record<string, { free: string; locked: string }>> {
    const out: Record<string, Record<string, { free: string; locked: string }>> = {};
    for (const [apiKey, assets] of this.accounts) {
      out[apiKey] = {};
      for (const [asset, b] of assets) out[apiKey][asset] = { free: b.free.toString(), locked: b.locked.toString() };
    }
    return out;
  }

  /** Puts back an account as `snapshot` saved it, in place of whatever it held. */
  restore(apiKey: string, balances: Record<string, { free: string; locked: string }>): void {
    const assets = new Map<string, AssetBalance>();
    for (const [asset, b] of Object.entries(balances)) {
      const entry = { free: Decimal.of(b.free), locked: Decimal.of(b.locked) };
      if (entry.free.isNegative() || entry.locked.isNegative()) throw new RangeError(`negative saved balance for ${asset} of ${apiKey}`);
      assets.set(asset, entry);
    }
    this.accounts.set(apiKey, assets);
  }

  has(apiKey: string): boolean {
    return this.accounts.has(apiKey);
  }

  /** A copy of the account's balances, by asset. */
  balances(apiKey: string): Map<string, AssetBalance> {
    const out = new Map<string, AssetBalance>();
    for (const [asset, b] of this.account(apiKey)) out.set(asset, { free: b.free, locked: b.locked });
    return out;
  }

  balance(apiKey: string, asset: string): AssetBalance {
    const b = this.entry(apiKey, asset);
    return { free: b.free, locked: b.locked };
  }

  /** Moves `amount` from free to locked; refuses (Binance -2010) when free is short. */
  lock(apiKey: string, asset: string, amount: Decimal): void {
    const b = this.entry(apiKey, asset);
    if (b.free.lt(amount)) throw VenueErrors.insufficientBalance();
    b.free = b.free.minus(amount);
    b.locked = b.locked.plus(amount);
  }

  /** Moves `amount` from locked back to free (cancel, or price improvement on a buy). */
  unlock(apiKey: string, asset: string, amount: Decimal): void {
    const b = this.entry(apiKey, asset);
    if (b.locked.lt(amount)) throw new Error(`ledger bug: unlocking ${amount.toString()} ${asset} with ${b.locked.toString()} locked`);
    b.locked = b.locked.minus(amount);
    b.free = b.free.plus(amount);
  }

  /** Removes `amount` from locked: it leaves the account in a fill. */
  spendLocked(apiKey: string, asset: string, amount: Decimal): void {
    const b = this.entry(apiKey, asset);
    if (b.locked.lt(amount)) throw new Error(`ledger bug: spending ${amount.toString()} ${asset} with ${b.locked.toString()} locked`);
    b.locked = b.locked.minus(amount);
  }

  /** Removes `amount` from free (a market order's payment); refuses when short. */
  spendFree(apiKey: string, asset: string, amount: Decimal): void {
    const b = this.entry(apiKey, asset);
    if (b.free.lt(amount)) throw VenueErrors.insufficientBalance();
    b.free = b.free.minus(amount);
  }

  credit(apiKey: string, asset: string, amount: Decimal): void {
    const b = this.entry(apiKey, asset);
    b.free = b.free.plus(amount);
  }

  /** Changes free by `delta` behind the books (the `driftBalance` fault); never below zero. */
  drift(apiKey: string, asset: string, delta: Decimal): AssetBalance {
    const b = this.entry(apiKey, asset);
    const free = b.free.plus(delta);
    if (free.isNegative()) throw new RangeError(`drift would make ${asset} negative`);
    b.free = free;
    return { free: b.free, locked: b.locked };
  }

  private account(apiKey: string): Map<string, AssetBalance> {
    const account = this.accounts.get(apiKey);
    if (!account) throw new Error(`unknown account ${apiKey}`);
    return account;
  }

  private entry(apiKey: string, asset: string): AssetBalance {
    const account = this.account(apiKey);
    let b = account.get(asset);
    if (!b) {
      b = { free: Decimal.ZERO, locked: Decimal.ZERO };
      account.set(asset, b);
    }
    return b;
  }
}
