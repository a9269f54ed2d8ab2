/**
 * A trusted EHR whose JWK Set endpoint (`jwks_url`) misbehaves, end to end: the real app and
 * verifier, the default key fetcher, a key server on 127.0.0.1. Its JWTs must then be refused
 * (401, fail closed) within the fetch deadline, whatever the key server does: drip a byte at a
 * time (jwks-rsa's idle timeout never fired: the call hung), send an endless body (jwks-rsa
 * buffered it all: hundreds of MB), a gzip bomb, HTML, a redirect, nothing at all. The service
 * stays healthy and trusts the issuer again once its key server answers well.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { buildTestApp, emptyPrefetch, hookRequest, TEST_BASE_URL } from '../support/test-app.js';
import { makeEcKey, signToken } from './helpers.js';

const FETCH_TIMEOUT_MS = 500;
const SERVICE = '/cds-services/crs-sentinel';
const key = makeEcKey('ehr-key-1');
const MiB = 1024 * 1024;

type Behaviour = (res: ServerResponse) => void;

const behaviours: Record<string, Behaviour> = {
  good: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] }));
  },
  'good-with-bom': (res) => {
    const body = Buffer.from(JSON.stringify({ keys: [key.jwk] }));
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]));
  },
  drip: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  },
  endless: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const chunk = Buffer.alloc(MiB, ' ');
    const pump = () => {
      while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
    };
    pump();
  },
  'gzip-bomb': (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const spaces = gzipSync(Buffer.alloc(MiB, ' '));
    const pump = (left: number) => {
      while (left-- > 0 && !res.destroyed)
        if (!res.write(spaces)) return void res.once('drain', () => pump(left));
      if (!res.destroyed) res.end();
    };
    res.write(gzipSync(Buffer.from('{"keys":[')));
    pump(512);
  },
  html: (res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Maintenance</body></html>');
  },
  'status-500': (res) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end('at KeyController.get (/srv/keys.js:12)');
  },
  redirect: (res) => {
    res.writeHead(302, { location: 'http://127.0.0.1:9/jwks.json' }).end();
  },
  hang: () => undefined,
};

let base = '';
let current: Record<string, string> = {};
const sockets = new Set<Socket>();
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  const issuer = (req.url ?? '/').split('/')[1] ?? '';
  (behaviours[current[issuer] ?? issuer] ?? behaviours.hang!)(res);
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** One app whose one trusted issuer fetches its keys from `${base}/${name}/jwks.json`. */
function appFor(name: string) {
  const iss = `https://${name}.ehr.example`;
  const verifier = createClientJwtVerifier({
    clients: validateTrustedClients([
      {
        iss,
        jwks_url: `${base}/${name}/jwks.json`,
        fhir_servers: ['http://127.0.0.1:1/fhir'],
        allow_insecure_http: true,
      },
    ]),
    replayCache: new InMemoryReplayCache(),
    keyResolver: createKeyResolver({ timeoutMs: FETCH_TIMEOUT_MS, refreshMinIntervalMs: 0 }),
  });
  const { app } = buildTestApp({ authenticator: createTrustedRequestAuthenticator(verifier) });
  const call = () =>
    request(app)
      .post(SERVICE)
      .set(
        'Authorization',
        `Bearer ${signToken({ key, nowSeconds: Math.floor(Date.now() / 1000), iss, aud: `${TEST_BASE_URL}${SERVICE}` })}`,
      )
      .send(hookRequest({ prefetch: emptyPrefetch() }));
  return { app, call };
}

describe('a JWK Set server that misbehaves: 401 within the fetch deadline, memory bounded', () => {
  it.each(['drip', 'endless', 'gzip-bomb', 'html', 'status-500', 'redirect', 'hang'])(
    '%s',
    async (name) => {
      const { app, call } = appFor(name);
      const rssBefore = process.memoryUsage().rss;
      const started = Date.now();
      const res = await call();
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthorized' });
      expect(Date.now() - started).toBeLessThan(FETCH_TIMEOUT_MS + 1500);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MiB);
      await request(app).get('/healthz').expect(200);
    },
    15_000,
  );

  it('the issuer is trusted again once its key server answers well', async () => {
    const { call } = appFor('recovering');
    current = { recovering: 'drip' };
    await call().expect(401);
    current = { recovering: 'good' };
    await call().expect(200);
  }, 15_000);

  it.each(['good', 'good-with-bom'])('control: a key server that answers well (%s)', async (name) => {
    await appFor(name).call().expect(200);
  });
});
