/**
 * The real PostgreSQL and Redis of development machines and CI (127.0.0.1:5432 trust auth, database
 * `test`; 127.0.0.1:6379). Each test run gets its own schema or key prefix and removes it. When CI
 * is set they must be reachable (.ci/run checks first); elsewhere a suite may skip when they are not.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(u.port || defaultPort), u.hostname, () => done(true));
  });
}

/** True when the suite should run: the server answers, or CI is set (then a failure is a failure). */
export async function shouldRunAgainst(server: 'postgres' | 'redis'): Promise<boolean> {
  if (process.env.CI !== undefined) return true;
  return server === 'postgres' ? reachable(TEST_DATABASE_URL, 5432) : reachable(TEST_REDIS_URL, 6379);
}

/** A schema or key-prefix name unique to this run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
