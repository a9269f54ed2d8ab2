/**
 * The JWT replay cache in Redis (REDIS_URL), shared by replicas: `SET key 1 NX PX ttl` records a
 * jti atomically only if absent, with the token's remaining lifetime as expiry
 * (https://redis.io/docs/latest/commands/set/), so a token replayed to another replica is refused.
 */
import { Redis } from 'ioredis';
import type { ReplayCache } from '../trust/replay-cache.js';

export interface RedisReplayCache extends ReplayCache {
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface RedisReplayCacheOptions {
  readonly url: string;
  /** Prepended to every key (default `crs-sentinel:jti:`); tests use a unique one per run. */
  readonly keyPrefix?: string;
  readonly connectTimeoutMs?: number;
  /** Clock in epoch milliseconds (tests). */
  readonly now?: () => number;
}

/** Connects (failing fast when Redis is unreachable) and returns the cache. */
export async function openRedisReplayCache(options: RedisReplayCacheOptions): Promise<RedisReplayCache> {
  let connected = false;
  let firstError: unknown;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: 1,
    // At start one attempt (an unreachable server is a start-up error); once up, reconnect with backoff.
    retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : null),
  });
  // Connection errors surface on the commands that fail; the event itself must not crash the process.
  redis.on('error', (error) => {
    firstError ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
    connected = true;
  } catch (error) {
    redis.disconnect();
    throw firstError ?? error;
  }
  const prefix = options.keyPrefix ?? 'crs-sentinel:jti:';
  const now = options.now ?? Date.now;
  return {
    async checkAndRemember(key, expiresAt) {
      const ttl = expiresAt.getTime() - now();
      if (!(ttl > 0)) return true; // already expired: nothing to remember (as the in-memory cache)
      const result = await redis.set(prefix + key, '1', 'PX', Math.ceil(ttl), 'NX');
      return result === 'OK';
    },
    async check() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
