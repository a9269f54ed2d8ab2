import { describe, expect, it } from 'vitest';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import type { AuthResult } from '../../src/trust/verify-client-jwt.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { decodePayload, fakeClock, tamperPayload } from './helpers.js';
import {
  EHR,
  REMOTE,
  REMOTE_JWKS,
  START_MS,
  TENANTED,
  acceptedCases,
  clientEntries,
  endpointsOf,
  idsOf,
  keys,
  refusedCases,
  remoteJwks,
  tokenFor,
} from './jwt-cases.js';

const e = endpointsOf('https://cds.example.org');
const clients = validateTrustedClients(clientEntries());
const ehrClient = clients[0]!;
const tenantClient = clients[2]!;

function setup(): {
  verify: (authorization: string | undefined, audience?: string) => Promise<AuthResult>;
  remoteFetches: () => number;
} {
  const clock = fakeClock(START_MS);
  let fetches = 0;
  const keyResolver = createKeyResolver({
    now: clock.nowMs,
    fetchJwks: (url) => {
      fetches++;
      expect(url).toBe(REMOTE_JWKS);
      return Promise.resolve(remoteJwks);
    },
  });
  const verifier = createClientJwtVerifier({
    clients,
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    keyResolver,
    now: clock.now,
  });
  return {
    verify: (authorization, audience = e.service) => verifier.verify(authorization, audience),
    remoteFetches: () => fetches,
  };
}

const bearer = (jwt: string): string => `Bearer ${jwt}`;

describe('createClientJwtVerifier: refused', () => {
  it.each(refusedCases)('$name -> $failedCheck', async (testCase) => {
    const { verify } = setup();
    const authorization = testCase.authorization(e);
    const result = await verify(authorization, e[testCase.endpoint ?? 'service']);
    const jwtPart = authorization?.split(' ')[1];
    const ids = testCase.decodable === false || jwtPart === undefined ? {} : idsOf(jwtPart);
    expect(result).toEqual({ ok: false, failedCheck: testCase.failedCheck, ...ids });
  });

  it('refuses a replayed jti, and records nothing for refused tokens', async () => {
    const { verify } = setup();
    const jwt = tokenFor(e);
    const jti = decodePayload(jwt).jti as string;
    expect(await verify(bearer(jwt))).toEqual({ ok: true, client: ehrClient, iss: EHR, jti });
    expect(await verify(bearer(jwt))).toEqual({ ok: false, failedCheck: 'replay', iss: EHR, jti });

    // A forged token carrying a jti must not burn it for the real one.
    const real = tokenFor(e);
    const realJti = decodePayload(real).jti as string;
    const forged = tamperPayload(real, { sub: 'x' });
    expect(await verify(bearer(forged))).toEqual({
      ok: false,
      failedCheck: 'signature',
      iss: EHR,
      jti: realJti,
    });
    expect(await verify(bearer(real))).toEqual({ ok: true, client: ehrClient, iss: EHR, jti: realJti });
  });

  it('keeps one jti space per issuer', async () => {
    const { verify } = setup();
    const jti = 'shared-jti';
    expect(await verify(bearer(tokenFor(e, { claims: { jti } })))).toEqual({
      ok: true,
      client: ehrClient,
      iss: EHR,
      jti,
    });
    const tenantToken = tokenFor(e, {
      key: keys.tenant,
      iss: TENANTED,
      claims: { jti, tenant: 'hospital-a' },
    });
    expect(await verify(bearer(tenantToken))).toEqual({ ok: true, client: tenantClient, iss: TENANTED, jti });
  });

  it('bounds and cleans the iss and jti it reports', async () => {
    const { verify } = setup();
    const result = await verify(
      bearer(tokenFor(e, { iss: `evil\n${'x'.repeat(400)}`, claims: { jti: 'a\u0007b' } })),
    );
    expect(result).toEqual({
      ok: false,
      failedCheck: 'unknown-issuer',
      iss: `evil?${'x'.repeat(251)}`,
      jti: 'a?b',
    });
  });

  it('refuses an Authorization header over 8 KB as malformed', async () => {
    const { verify } = setup();
    const big = tokenFor(e, { claims: { padding: 'x'.repeat(9000) } });
    expect(await verify(bearer(big))).toEqual({ ok: false, failedCheck: 'malformed' });
  });
});

describe('createClientJwtVerifier: accepted', () => {
  it.each(acceptedCases)('$name', async (testCase) => {
    const { verify } = setup();
    const jwt = testCase.jwt(e);
    const client = clients[testCase.client ?? 0]!;
    const result = await verify(`Bearer ${jwt}`, e[testCase.endpoint ?? 'service']);
    expect(result).toEqual({ ok: true, client, iss: client.iss, jti: decodePayload(jwt).jti });
  });

  it('accepts a lower-case bearer scheme', async () => {
    const { verify } = setup();
    const jwt = tokenFor(e);
    expect(await verify(`bearer ${jwt}`)).toEqual({
      ok: true,
      client: ehrClient,
      iss: EHR,
      jti: decodePayload(jwt).jti,
    });
  });

  it('fetches a remote JWK Set once for many calls', async () => {
    const { verify, remoteFetches } = setup();
    for (let i = 0; i < 5; i++) {
      const jwt = tokenFor(e, { key: keys.remote, iss: REMOTE });
      expect(await verify(bearer(jwt))).toEqual({
        ok: true,
        client: clients[3],
        iss: REMOTE,
        jti: decodePayload(jwt).jti,
      });
    }
    expect(remoteFetches()).toBe(1);
  });
});

describe('createClientJwtVerifier: options', () => {
  it('honours a shorter maximum lifetime and a narrower algorithm list', async () => {
    const clock = fakeClock(START_MS);
    const verifier = createClientJwtVerifier({
      clients,
      replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
      maxLifetimeSeconds: 900,
      algorithms: ['ES384'],
      now: clock.now,
    });
    const long = tokenFor(e, { lifetimeSeconds: 901 });
    expect(await verifier.verify(bearer(long), e.service)).toEqual({
      ok: false,
      failedCheck: 'lifetime',
      ...idsOf(long),
    });
    const rs = tokenFor(e, { key: keys.rs });
    expect(await verifier.verify(bearer(rs), e.service)).toEqual({
      ok: false,
      failedCheck: 'algorithm',
      ...idsOf(rs),
    });
  });

  it('fails closed when the key resolver throws', async () => {
    const verifier = createClientJwtVerifier({
      clients,
      replayCache: new InMemoryReplayCache(),
      keyResolver: { resolve: () => Promise.reject(new Error('boom')) },
      now: fakeClock(START_MS).now,
    });
    const jwt = tokenFor(e);
    expect(await verifier.verify(bearer(jwt), e.service)).toEqual({
      ok: false,
      failedCheck: 'key-unavailable',
      ...idsOf(jwt),
    });
  });

  it('refuses invalid options', () => {
    const replayCache = new InMemoryReplayCache();
    expect(() => createClientJwtVerifier({ clients, replayCache, clockSkewSeconds: -1 })).toThrow(RangeError);
    expect(() => createClientJwtVerifier({ clients, replayCache, algorithms: [] })).toThrow(RangeError);
    expect(() =>
      createClientJwtVerifier({ clients, replayCache, algorithms: ['HS256' as unknown as 'ES384'] }),
    ).toThrow(RangeError);
  });
});
