/**
 * Remote JWK Sets served by a real HTTP server on 127.0.0.1 that counts its requests: caching,
 * refresh on an unknown kid with a rate limit, rotation, and failures (issue 4: "keys are cached
 * and refreshed on an unknown kid with a rate limit").
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import type { TrustedClient } from '../../src/trust/trusted-clients.js';
import {
  decodePayload,
  fakeClock,
  makeEcKey,
  makeRsaKey,
  signToken,
  startCountingServer,
} from './helpers.js';
import type { CountingServer, TestKey } from './helpers.js';

const ISS = 'https://ehr.example.org';
const AUD = 'https://cds.example.org/cds-services';
const START_MS = 1_760_000_000_000;

const k1 = makeEcKey('k1');
const k2 = makeRsaKey('k2');

let jwksServer: CountingServer;
let elsewhere: CountingServer;
let published: TestKey[] = [];

beforeAll(async () => {
  elsewhere = await startCountingServer(() => ({ status: 200, body: { keys: [makeEcKey('evil').jwk] } }));
  jwksServer = await startCountingServer((path) => {
    if (path === '/redirect') return { status: 302, headers: { location: `${elsewhere.url}/jwks.json` } };
    if (path === '/broken') return { status: 500, body: { error: 'down' } };
    return { status: 200, body: { keys: published.map((key) => key.jwk) } };
  });
});

afterAll(async () => {
  await jwksServer.close();
  await elsewhere.close();
});

beforeEach(() => {
  published = [k1];
  jwksServer.requests = 0;
  elsewhere.requests = 0;
});

function clientAt(path: string): TrustedClient {
  return validateTrustedClients([
    {
      iss: ISS,
      jwks_url: `${jwksServer.url}${path}`,
      fhir_servers: ['https://ehr.example.org/fhir'],
      allow_insecure_http: true,
    },
  ])[0]!;
}

function setup(path = '/jwks.json') {
  const clock = fakeClock(START_MS);
  const problems: string[] = [];
  const client = clientAt(path);
  const verifier = createClientJwtVerifier({
    clients: [client],
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    keyResolver: createKeyResolver({
      now: clock.nowMs,
      refreshMinIntervalMs: 10_000,
      cacheMaxAgeMs: 600_000,
      maxStaleMs: 3_600_000,
      timeoutMs: 2_000,
      onJwksProblem: (problem) => problems.push(problem.message),
    }),
    now: clock.now,
  });
  const call = (key: TestKey, kid = key.kid) => {
    const jwt = signToken({ key, nowSeconds: clock.seconds(), iss: ISS, aud: AUD, header: { kid } });
    return verifier.verify(`Bearer ${jwt}`, AUD).then((result) => ({ result, jti: decodePayload(jwt).jti }));
  };
  return { clock, client, call, problems };
}

describe('remote JWK Set: cache and rate-limited refresh', () => {
  it('fetches once, serves known kids from cache, and refreshes for an unknown kid at most once per interval', async () => {
    const { clock, client, call } = setup();

    const first = await call(k1);
    expect(first.result).toEqual({ ok: true, client, iss: ISS, jti: first.jti });
    expect(jwksServer.requests).toBe(1);

    // A burst of made-up kids right after a fetch: no refetch at all.
    for (let i = 0; i < 20; i++) {
      const { result, jti } = await call(k1, `made-up-${i}`);
      expect(result).toEqual({ ok: false, failedCheck: 'unknown-key', iss: ISS, jti });
    }
    expect(jwksServer.requests).toBe(1);

    // After the interval, one unknown kid triggers one refresh; the next one does not.
    clock.advance(10_001);
    expect((await call(k1, 'made-up-a')).result.ok).toBe(false);
    expect(jwksServer.requests).toBe(2);
    expect((await call(k1, 'made-up-b')).result.ok).toBe(false);
    expect(jwksServer.requests).toBe(2);

    // Known keys keep working from the cache meanwhile, whatever the made-up kids did.
    expect((await call(k1)).result.ok).toBe(true);
    expect(jwksServer.requests).toBe(2);
  });

  it('picks up a rotated key once the interval allows a refresh', async () => {
    const { clock, client, call } = setup();
    expect((await call(k1)).result.ok).toBe(true);

    published = [k1, k2];
    const early = await call(k2);
    expect(early.result).toEqual({ ok: false, failedCheck: 'unknown-key', iss: ISS, jti: early.jti });
    expect(jwksServer.requests).toBe(1);

    clock.advance(10_000);
    const later = await call(k2);
    expect(later.result).toEqual({ ok: true, client, iss: ISS, jti: later.jti });
    expect(jwksServer.requests).toBe(2);
  });

  it('coalesces concurrent first fetches into one request', async () => {
    const { call } = setup();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(k1, i % 2 === 0 ? k1.kid : `x-${i}`)),
    );
    expect(results.filter(({ result }) => result.ok)).toHaveLength(5);
    expect(jwksServer.requests).toBe(1);
  });

  it('refetches a set older than the cache age, and drops removed keys', async () => {
    const { clock, call } = setup();
    expect((await call(k1)).result.ok).toBe(true);
    published = [k2];
    clock.advance(600_000);
    const { result, jti } = await call(k1);
    expect(result).toEqual({ ok: false, failedCheck: 'unknown-key', iss: ISS, jti });
    expect(jwksServer.requests).toBe(2);
  });

  it('keeps the last good set while the endpoint fails, up to the stale limit', async () => {
    const { clock, client, call, problems } = setup();
    expect((await call(k1)).result.ok).toBe(true);
    const original = jwksServer.respond;
    jwksServer.respond = () => ({ status: 500 });
    try {
      clock.advance(600_000);
      const stale = await call(k1);
      expect(stale.result).toEqual({ ok: true, client, iss: ISS, jti: stale.jti });
      expect(jwksServer.requests).toBe(2);
      expect(problems).toEqual([expect.stringMatching(/^JWK Set fetch failed/)]);

      clock.advance(3_600_000);
      const tooStale = await call(k1);
      expect(tooStale.result).toEqual({
        ok: false,
        failedCheck: 'key-unavailable',
        iss: ISS,
        jti: tooStale.jti,
      });
    } finally {
      jwksServer.respond = original;
    }
  });
});

describe('remote JWK Set: failures', () => {
  it('an unreachable endpoint gives key-unavailable', async () => {
    const { call } = setup('/broken');
    const { result, jti } = await call(k1);
    expect(result).toEqual({ ok: false, failedCheck: 'key-unavailable', iss: ISS, jti });
    expect(jwksServer.requests).toBe(1);
  });

  it('does not follow a redirect to another host', async () => {
    const { call, problems } = setup('/redirect');
    const { result, jti } = await call(k1);
    expect(result).toEqual({ ok: false, failedCheck: 'key-unavailable', iss: ISS, jti });
    expect(jwksServer.requests).toBe(1);
    expect(elsewhere.requests).toBe(0);
    expect(problems).toHaveLength(1);
  });

  it('skips unusable keys and reports them without key material', async () => {
    const weak = makeRsaKey('weak', 1024);
    published = [k1, weak];
    const { call, problems } = setup();
    expect((await call(k1)).result.ok).toBe(true);
    expect((await call(weak)).result).toMatchObject({ ok: false, failedCheck: 'unknown-key' });
    expect(problems).toEqual(['unusable keys skipped: keys[1]: RSA keys must have at least 2048 bits']);
  });
});

describe('pinned (inline) JWK Set with a jku header: the pinned keys decide, nothing is fetched', () => {
  // The public CDS Hooks Sandbox always sends `jku`; hospitals without outbound access pin keys.
  function pinned(extra: Record<string, unknown> = {}) {
    const clock = fakeClock(START_MS);
    const client = validateTrustedClients([
      { iss: ISS, jwks: { keys: [k1.jwk] }, fhir_servers: ['https://ehr.example.org/fhir'], ...extra },
    ])[0]!;
    const verifier = createClientJwtVerifier({
      clients: [client],
      replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
      keyResolver: createKeyResolver({ now: clock.nowMs, timeoutMs: 2_000 }),
      now: clock.now,
    });
    const call = (key: TestKey, jku: string, kid = key.kid) => {
      const jwt = signToken({ key, nowSeconds: clock.seconds(), iss: ISS, aud: AUD, header: { kid, jku } });
      return verifier.verify(`Bearer ${jwt}`, AUD);
    };
    return { call };
  }

  it('accepts a token whose jku points at a live JWK Set server, without asking it', async () => {
    const { call } = pinned();
    published = [k1, k2];
    expect((await call(k1, `${jwksServer.url}/jwks.json`)).ok).toBe(true);
    // A key the server publishes but that is not pinned is refused: the jku is never followed.
    expect(await call(k2, `${jwksServer.url}/jwks.json`)).toMatchObject({
      ok: false,
      failedCheck: 'unknown-key',
    });
    expect(await call(k2, `${elsewhere.url}/jwks.json`)).toMatchObject({
      ok: false,
      failedCheck: 'unknown-key',
    });
    expect(jwksServer.requests).toBe(0);
    expect(elsewhere.requests).toBe(0);
  });

  it('with jwks_url next to the pinned keys, the jku must equal it, and it is still never fetched', async () => {
    const { call } = pinned({ jwks_url: `${jwksServer.url}/jwks.json`, allow_insecure_http: true });
    expect((await call(k1, `${jwksServer.url}/jwks.json`)).ok).toBe(true);
    expect(await call(k1, `${elsewhere.url}/jwks.json`)).toMatchObject({ ok: false, failedCheck: 'jku' });
    expect(jwksServer.requests).toBe(0);
    expect(elsewhere.requests).toBe(0);
  });
});
