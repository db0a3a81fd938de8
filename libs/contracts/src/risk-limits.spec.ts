import { describe, expect, it } from '@jest/globals';
import { ExposureReportQuery } from './risk-exposure.js';
import { RiskLimitValues, RiskLimitsVersion, SetRiskLimits } from './risk-checks.js';

describe('risk limits on the wire', () => {
  const before = {
    maxOrderNotional: '25000',
    maxOrderQuantity: null,
    maxOpenNotional: '250000',
    maxMessagesPerSecond: 50,
    priceCollarPercent: '10',
    maxReferenceAgeMs: 10_000,
  };

  it('reads a version written before the loss and runaway limits existed: each of them null', () => {
    const version = RiskLimitsVersion.parse({
      scope: 'firm',
      version: 1,
      limits: before,
      actor: { id: 'risk-limits-migration', kind: 'system' },
      reason: 'seed',
      changedAt: '2025-03-10T09:00:00.000Z',
    });
    expect(version.limits).toEqual({ ...before, maxDrawdown: null, maxDailyLoss: null, maxDenialsPerMinute: null, maxFillsPerMinute: null });
  });

  it('a change names only what it changes (no limit is removed by being left out)', () => {
    const change = SetRiskLimits.parse({ scope: 'bot:b-1', changes: { maxDrawdown: '500', maxFillsPerMinute: 30 }, reason: 'loss limits' });
    expect(change.changes).toEqual({ maxDrawdown: '500', maxFillsPerMinute: 30 });
    expect(() => SetRiskLimits.parse({ scope: 'firm', changes: { maxDrawdown: '-1' }, reason: 'bad' })).toThrow(/maxDrawdown/);
    expect(() => SetRiskLimits.parse({ scope: 'firm', changes: { maxDenialsPerMinute: 0 }, reason: 'bad' })).toThrow(/maxDenialsPerMinute/);
    expect(RiskLimitValues.safeParse({ ...before, maxDailyLoss: '0' }).success).toBe(false);
  });

  it('the exposure report takes well-formed ids only', () => {
    expect(ExposureReportQuery.parse({ botId: 'grid-1', exchangeId: 'binance' })).toEqual({ botId: 'grid-1', exchangeId: 'binance' });
    expect(ExposureReportQuery.safeParse({ botId: 'a b' }).success).toBe(false);
    expect(ExposureReportQuery.safeParse({ exchangeId: '' }).success).toBe(false);
  });
});
