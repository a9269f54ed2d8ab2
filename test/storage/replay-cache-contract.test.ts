/**
 * One contract for the JWT replay cache: in memory (one instance) and Redis (replicas; a key
 * prefix of its own per run, deleted after). Real time with short lifetimes, as Redis keeps its own.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisReplayCache, type RedisReplayCache } from '../../src/storage/redis-replay-cache.js';
import { InMemoryReplayCache, type ReplayCache } from '../../src/trust/replay-cache.js';
import { TEST_REDIS_URL, shouldRunAgainst, uniqueName } from '../support/test-servers.js';

const runRedis = await shouldRunAgainst('redis');
const prefix = `${uniqueName('crs_jti')}:`;

const backends = [
  {
    name: 'in memory',
    run: true,
    open: (): Promise<ReplayCache> => Promise.resolve(new InMemoryReplayCache()),
  },
  {
    name: 'redis',
    run: runRedis,
    open: (): Promise<ReplayCache> => openRedisReplayCache({ url: TEST_REDIS_URL, keyPrefix: prefix }),
  },
];

const inMs = (ms: number) => new Date(Date.now() + ms);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends)('replay cache contract: $name', (backend) => {
  let cache: ReplayCache;
  let second: ReplayCache;
  beforeAll(async () => {
    if (!backend.run) return;
    cache = await backend.open();
    second = backend.name === 'redis' ? await backend.open() : cache;
  });
  afterAll(async () => {
    if (backend.name !== 'redis' || !backend.run) return;
    await (cache as RedisReplayCache).close();
    await (second as RedisReplayCache).close();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it.runIf(backend.run)(
    'refuses a key seen before, on any connection to the store, and accepts others',
    async () => {
      expect(await cache.checkAndRemember('iss\u0000a', inMs(60_000))).toBe(true);
      expect(await cache.checkAndRemember('iss\u0000a', inMs(60_000))).toBe(false);
      expect(await second.checkAndRemember('iss\u0000a', inMs(60_000))).toBe(false);
      expect(await second.checkAndRemember('iss\u0000b', inMs(60_000))).toBe(true);
    },
  );

  it.runIf(backend.run)('accepts a key again once its record expired', async () => {
    expect(await cache.checkAndRemember('short', inMs(150))).toBe(true);
    expect(await cache.checkAndRemember('short', inMs(150))).toBe(false);
    await sleep(300);
    expect(await cache.checkAndRemember('short', inMs(60_000))).toBe(true);
  });

  it.runIf(backend.run)('does not remember a key that is already expired', async () => {
    expect(await cache.checkAndRemember('expired', new Date(Date.now() - 1000))).toBe(true);
    expect(await cache.checkAndRemember('expired', inMs(60_000))).toBe(true);
  });

  it.runIf(backend.run)('lets exactly one of many concurrent uses of a key through', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? cache : second).checkAndRemember('race', inMs(60_000)),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
