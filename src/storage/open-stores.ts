/**
 * Opens the stores the configuration names (issue 11, "Storage: embedded by default, real servers
 * when replicated"): SQLite in DATA_DIR unless DATABASE_URL names PostgreSQL; the JWT replay cache
 * in memory unless REDIS_URL names Redis. A server that cannot be reached at start is a one-line
 * ConfigError naming the variable (never the password), and the service does not start.
 */
import path from 'node:path';
import { ConfigError } from '../config/load-config.js';
import { oneLine } from '../config/startup.js';
import { InMemoryReplayCache, type ReplayCache } from '../trust/replay-cache.js';
import type { GovernanceStore, Stores } from './governance-store.js';
import { openPostgresStore } from './postgres-store.js';
import { openRedisReplayCache, type RedisReplayCache } from './redis-replay-cache.js';
import { SQLITE_FILE, openSqliteStore } from './sqlite-store.js';

export interface StoreConfig {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly databaseSchema?: string;
  readonly redisUrl?: string;
  readonly redisKeyPrefix?: string;
}

export async function openStores(config: StoreConfig): Promise<Stores> {
  const governance = await openGovernanceStore(config);
  let redis: RedisReplayCache | undefined;
  if (config.redisUrl !== undefined) {
    try {
      redis = await openRedisReplayCache({
        url: config.redisUrl,
        ...(config.redisKeyPrefix === undefined ? {} : { keyPrefix: config.redisKeyPrefix }),
      });
    } catch (error) {
      await governance.close();
      throw new ConfigError(
        `REDIS_URL: cannot connect to Redis at ${describeServer(config.redisUrl)} (${reason(error)}): start it or fix REDIS_URL`,
      );
    }
  }
  return assembleStores(governance, redis ?? new InMemoryReplayCache(), redis);
}

/** The embedded stores, opened synchronously (tests and callers without a start-up phase). */
export function openEmbeddedStores(dataDir: string): Stores {
  return assembleStores(openSqliteAt(dataDir), new InMemoryReplayCache(), undefined);
}

function assembleStores(
  governance: GovernanceStore,
  replayCache: ReplayCache,
  redis: RedisReplayCache | undefined,
): Stores {
  return {
    governance,
    replayCache,
    async check() {
      await governance.check();
      await redis?.check();
    },
    async close() {
      await Promise.all([governance.close(), redis?.close()]);
    },
  };
}

async function openGovernanceStore(config: StoreConfig): Promise<GovernanceStore> {
  if (config.databaseUrl === undefined) return openSqliteAt(config.dataDir);
  try {
    return await openPostgresStore({
      url: config.databaseUrl,
      ...(config.databaseSchema === undefined ? {} : { schema: config.databaseSchema }),
    });
  } catch (error) {
    throw new ConfigError(
      `DATABASE_URL: cannot use PostgreSQL at ${describeServer(config.databaseUrl)} (${reason(error)}): start it, create the database, or fix DATABASE_URL`,
    );
  }
}

function openSqliteAt(dataDir: string): GovernanceStore {
  const file = path.join(dataDir, SQLITE_FILE);
  try {
    return openSqliteStore(file);
  } catch (error) {
    throw new ConfigError(
      `DATA_DIR: cannot open ${JSON.stringify(file)} (${reason(error)}): make it writable or set DATA_DIR`,
    );
  }
}

/** host:port/database of a server URL, without user or password. */
export function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port === '' ? '' : `:${u.port}`}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'an unparsable URL';
  }
}

function reason(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    const message = error instanceof Error ? oneLine(error.message).slice(0, 200) : '';
    // AggregateError (several addresses refused) has an empty message and the code on itself.
    return [code, message].filter((s) => s !== undefined && s !== '').join(': ') || 'unreachable';
  }
  return oneLine(String(error)).slice(0, 200);
}
