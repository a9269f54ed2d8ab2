/**
 * scripts/check-registration.ts against the real app listening on 127.0.0.1, with the demo client
 * as the registered EHR.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatResults, runRegistrationCheck } from '../../scripts/check-registration.js';
import type { RegistrationCheckOptions } from '../../scripts/check-registration.js';
import { ensureDemoClient } from '../../src/trust/demo-client.js';
import type { DemoClient } from '../../src/trust/demo-client.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createDevelopmentVerifier } from '../../src/trust/auth-mode.js';

const developmentAuthenticator = createTrustedRequestAuthenticator(createDevelopmentVerifier());
import type { RequestAuthenticator } from '../../src/service/request-authenticator.js';
import { buildTestApp } from '../support/test-app.js';
import { makeRsaKey } from './helpers.js';

interface Running {
  readonly baseUrl: string;
  readonly server: Server;
}

async function serve(authenticator: RequestAuthenticator): Promise<Running> {
  // The app needs its public URL, known only once the server listens.
  const holder: { app?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => holder.app?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  holder.app = buildTestApp({ authenticator, publicBaseUrl: baseUrl, corsOrigins: '*' }).app;
  return { baseUrl, server };
}

const close = (running: Running) =>
  new Promise<void>((resolve) => {
    running.server.closeAllConnections();
    running.server.close(() => resolve());
  });

let dir: string;
let demo: DemoClient;
let verified: Running;
let open: Running;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crs-check-'));
  demo = ensureDemoClient(dir);
  verified = await serve(
    createTrustedRequestAuthenticator(
      createClientJwtVerifier({ clients: [demo.client], replayCache: new InMemoryReplayCache() }),
    ),
  );
  open = await serve(developmentAuthenticator);
});

afterAll(async () => {
  await close(verified);
  await close(open);
  rmSync(dir, { recursive: true, force: true });
});

type Overrides = { [K in keyof RegistrationCheckOptions]?: RegistrationCheckOptions[K] | undefined };

/** Check options for `baseUrl`; an override of `undefined` removes that option. */
function options(baseUrl: string, overrides: Overrides = {}): RegistrationCheckOptions {
  const merged: Record<string, unknown> = {
    url: `${baseUrl}/cds-services`,
    keyText: readFileSync(demo.privateKeyPemPath, 'utf8'),
    iss: demo.client.iss,
    kid: demo.kid,
    origin: 'https://sandbox.cds-hooks.org',
    serviceId: 'crs-sentinel',
    hook: 'patient-view',
    timeoutMs: 5000,
    allowHttp: true,
    ...overrides,
  };
  const defined = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  return defined as unknown as RegistrationCheckOptions;
}

const summary = (results: { name: string; pass: boolean }[]) =>
  results.map(({ name, pass }) => ({ name, pass }));

describe('runRegistrationCheck', () => {
  it('passes every check for a correctly registered client', async () => {
    const results = await runRegistrationCheck(options(verified.baseUrl));
    expect(summary(results)).toEqual([
      { name: 'private key', pass: true },
      { name: 'discovery URL', pass: true },
      { name: 'reachable', pass: true },
      { name: 'refuses calls without a JWT', pass: true },
      { name: 'CORS preflight', pass: true },
      { name: 'discovery answers 200 to the signed JWT', pass: true },
      { name: 'CORS on the response', pass: true },
      { name: 'discovery body', pass: true },
      { name: 'service listed', pass: true },
      { name: 'refuses a replayed JWT', pass: true },
    ]);
    expect(formatResults(results)).toMatch(/All checks passed\.$/);
  });

  it('fails on 200 with a key the service does not know, and never prints the token', async () => {
    const stranger = makeRsaKey('stranger');
    const results = await runRegistrationCheck(
      options(verified.baseUrl, {
        keyText: stranger.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        kid: 'stranger',
        alg: undefined,
      }),
    );
    expect(summary(results).at(-1)).toEqual({ name: 'discovery answers 200 to the signed JWT', pass: false });
    expect(results[0]?.detail).toBe('rsa key, alg RS384, kid "stranger"');
    const text = formatResults(results);
    expect(text).toMatch(/1 check\(s\) failed\.$/);
    expect(text).not.toMatch(/eyJ/);
  });

  it('flags a service that answers without a JWT (CDS_AUTH=off)', async () => {
    const results = await runRegistrationCheck(options(open.baseUrl));
    expect(results.find((result) => result.name === 'refuses calls without a JWT')).toEqual({
      name: 'refuses calls without a JWT',
      pass: false,
      detail: 'answered 200 without a JWT: is CDS_AUTH=off? It must be on outside local testing',
    });
  });

  it('refuses plain http without --allow-http, and an unreachable URL', async () => {
    expect(summary(await runRegistrationCheck(options(verified.baseUrl, { allowHttp: false })))).toEqual([
      { name: 'private key', pass: true },
      { name: 'discovery URL', pass: false },
    ]);
    const closed = await serve(developmentAuthenticator);
    await close(closed);
    expect(summary(await runRegistrationCheck(options(closed.baseUrl))).at(-1)).toEqual({
      name: 'reachable',
      pass: false,
    });
  });

  it('reads a private JWK (kid and alg from the JWK) and refuses a bad key', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const jwk = createPrivateKey(readFileSync(demo.privateKeyPemPath, 'utf8')).export({ format: 'jwk' });
    const results = await runRegistrationCheck(
      options(verified.baseUrl, {
        keyText: JSON.stringify({ ...jwk, kid: demo.kid, alg: 'ES384' }),
        kid: undefined,
      }),
    );
    expect(results.every((result) => result.pass)).toBe(true);
    expect(await runRegistrationCheck(options(verified.baseUrl, { keyText: 'not a key' }))).toEqual([
      {
        name: 'private key',
        pass: false,
        detail: 'cannot read the key: give a PEM private key or a JSON private JWK',
      },
    ]);
  });
});
