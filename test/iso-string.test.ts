import { describe, expect, it } from 'vitest';
import { isoString } from '../src/clock.ts';

describe('isoString', () => {
  it('prints every instant exactly as Date#toISOString does', () => {
    const instants = [0, 1, 999, 1000, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2026, 11, 2, 8, 0), 253_402_300_799_999];
    // Many instants across days, months and years, in an order that changes the day at almost every step.
    for (let i = 0; i < 20_000; i++) instants.push(Math.floor(((i * 7919) % 20_000) * 123_456_789.5 + (i % 1000)));
    for (const ms of instants) expect(isoString(ms)).toBe(new Date(ms).toISOString());
  });

  it('leaves what it does not cache to Date: fractions, instants before 1970 and after 9999', () => {
    for (const ms of [-1, 1.5, 253_402_300_800_000]) expect(isoString(ms)).toBe(new Date(ms).toISOString());
  });
});
