/**
 * The real app behind the real JWT verifier, for the HTTP error and fuzz tests: a trusted EHR
 * with a real ES384 key (test/trust/jwt-cases.ts), a fresh signed token per call, and a logger
 * whose lines the test can read.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AppDeps } from '../../src/http/app.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { buildTestApp, TEST_BASE_URL } from '../support/test-app.js';
import { fakeClock } from '../trust/helpers.js';
import { START_MS, clientEntries, endpointsOf, tokenFor } from '../trust/jwt-cases.js';

export type LogLine = Record<string, unknown>;

export function buildSignedApp(overrides: Partial<AppDeps> = {}) {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  const clock = fakeClock(START_MS);
  const verifier = createClientJwtVerifier({
    clients: validateTrustedClients(clientEntries()),
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    keyResolver: createKeyResolver({
      now: clock.nowMs,
      fetchJwks: () => Promise.reject(new Error('no JWK Set is fetched in these tests')),
    }),
    now: clock.now,
  });
  const built = buildTestApp({
    logger: pino({ level: 'info' }, sink),
    authenticator: createTrustedRequestAuthenticator(verifier),
    ...overrides,
  });
  return { ...built, lines };
}

/** `Authorization` for a call of `path` (the JWT `aud` is the public URL of the path called). */
export function bearerFor(path: string): string {
  const aud = `${TEST_BASE_URL}${path}`;
  return `Bearer ${tokenFor(endpointsOf(TEST_BASE_URL), { aud })}`;
}

/** The request log lines ("request completed") written so far. */
export function requestLines(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((line) => line.msg === 'request completed');
}

export interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1 (a random port), for requests supertest cannot make (raw bytes). */
export async function listen(app: RequestListener): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
