import { describe, expect, it } from 'vitest';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { fakeClock } from './helpers.js';

describe('InMemoryReplayCache', () => {
  it('refuses a key seen before until it expires, then accepts it again', async () => {
    const clock = fakeClock(1_000_000);
    const cache = new InMemoryReplayCache({ now: clock.nowMs });
    const expiresAt = new Date(1_000_000 + 60_000);
    expect(await cache.checkAndRemember('iss\u0000a', expiresAt)).toBe(true);
    expect(await cache.checkAndRemember('iss\u0000a', expiresAt)).toBe(false);
    expect(await cache.checkAndRemember('iss\u0000b', expiresAt)).toBe(true);
    clock.advance(60_000);
    expect(await cache.checkAndRemember('iss\u0000a', new Date(clock.nowMs() + 1000))).toBe(true);
  });

  it('does not keep entries that are already expired', async () => {
    const clock = fakeClock(1_000_000);
    const cache = new InMemoryReplayCache({ now: clock.nowMs });
    expect(await cache.checkAndRemember('k', new Date(999_000))).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('evicts expired entries as it goes', async () => {
    const clock = fakeClock(1_000_000);
    const cache = new InMemoryReplayCache({ now: clock.nowMs });
    for (let i = 0; i < 10; i++) await cache.checkAndRemember(`old-${i}`, new Date(1_000_000 + 1000));
    expect(cache.size).toBe(10);
    clock.advance(2000);
    await cache.checkAndRemember('new', new Date(clock.nowMs() + 1000));
    expect(cache.size).toBe(1);
  });

  it('stays within maxEntries, dropping the oldest unexpired entries when full', async () => {
    const clock = fakeClock(1_000_000);
    const cache = new InMemoryReplayCache({ now: clock.nowMs, maxEntries: 100 });
    const expiresAt = new Date(1_000_000 + 3_600_000);
    for (let i = 0; i < 250; i++) expect(await cache.checkAndRemember(`k-${i}`, expiresAt)).toBe(true);
    expect(cache.size).toBeLessThanOrEqual(100);
    // The newest keys are still remembered; the oldest were dropped to make room.
    expect(await cache.checkAndRemember('k-249', expiresAt)).toBe(false);
    expect(await cache.checkAndRemember('k-0', expiresAt)).toBe(true);
  });

  it('refuses an invalid bound', () => {
    expect(() => new InMemoryReplayCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
