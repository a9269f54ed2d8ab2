import { describe, expect, it } from 'vitest';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import type { AuthResult } from '../../src/trust/verify-client-jwt.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import type { TrustedClient } from '../../src/trust/trusted-clients.js';
import {
  decodePayload,
  fakeClock,
  hs256WithPublicKey,
  makeEcKey,
  makeRsaKey,
  signToken,
  tamperPayload,
  unsignedToken,
} from './helpers.js';
import type { TokenSpec } from './helpers.js';

const BASE = 'https://cds.example.org';
const DISCOVERY = `${BASE}/cds-services`;
const SERVICE = `${BASE}/cds-services/crs-sentinel`;
const FEEDBACK = `${BASE}/cds-services/crs-sentinel/feedback`;

const EHR = 'https://ehr.example.org/fhir';
const OTHER = 'https://other-ehr.example.org';
const TENANTED = 'https://tenanted-ehr.example.org';
const REMOTE = 'https://remote-ehr.example.org';
const REMOTE_JWKS = 'https://remote-ehr.example.org/.well-known/jwks.json';

const esKey = makeEcKey('ehr-es384');
const rsKey = makeRsaKey('ehr-rs384');
const otherKey = makeEcKey('other-es384');
const tenantKey = makeEcKey('tenant-es384');
const remoteKey = makeEcKey('remote-es384');
const p256Key = makeEcKey('ehr-es256', 'P-256');

const clients = validateTrustedClients([
  {
    iss: EHR,
    jwks: { keys: [esKey.jwk, rsKey.jwk, p256Key.jwk] },
    fhir_servers: ['https://ehr.example.org/fhir/R4'],
  },
  { iss: OTHER, jwks: { keys: [otherKey.jwk] }, fhir_servers: ['https://other-ehr.example.org/R4'] },
  {
    iss: TENANTED,
    jwks: { keys: [tenantKey.jwk] },
    fhir_servers: ['https://tenanted-ehr.example.org/R4'],
    tenant: 'hospital-a',
  },
  { iss: REMOTE, jwks_url: REMOTE_JWKS, fhir_servers: ['https://remote-ehr.example.org/R4'] },
]);
const ehrClient = clients[0]!;
const tenantClient = clients[2]!;
const remoteClient = clients[3]!;

const START_MS = 1_750_000_000_000;

function setup(): {
  verify: (authorization: string | undefined, audience?: string) => Promise<AuthResult>;
  seconds: number;
  remoteFetches: () => number;
} {
  const clock = fakeClock(START_MS);
  let fetches = 0;
  const keyResolver = createKeyResolver({
    now: clock.nowMs,
    fetchJwks: (url) => {
      fetches++;
      expect(url).toBe(REMOTE_JWKS);
      return Promise.resolve({ keys: [remoteKey.jwk] });
    },
  });
  const verifier = createClientJwtVerifier({
    clients,
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    keyResolver,
    now: clock.now,
  });
  return {
    verify: (authorization, audience = SERVICE) => verifier.verify(authorization, audience),
    seconds: clock.seconds(),
    remoteFetches: () => fetches,
  };
}

const T = START_MS / 1000;

function token(overrides: Partial<TokenSpec> = {}): string {
  return signToken({ key: esKey, nowSeconds: T, iss: EHR, aud: SERVICE, ...overrides });
}

function bearer(jwt: string): string {
  return `Bearer ${jwt}`;
}

/** The iss and jti a refused result reports for `jwt` (as decoded, unverified). */
function idsOf(jwt: string): { iss?: string; jti?: string } {
  const payload = decodePayload(jwt);
  return {
    ...(typeof payload.iss === 'string' ? { iss: payload.iss } : {}),
    ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
  };
}

interface RefusedCase {
  readonly name: string;
  readonly authorization: () => string | undefined;
  readonly audience?: string;
  readonly failedCheck: string;
  /** false when the result carries no iss/jti (nothing decodable). */
  readonly decodable?: boolean;
}

const okPayload = (): Record<string, unknown> => ({
  iss: EHR,
  aud: SERVICE,
  iat: T,
  exp: T + 300,
  jti: 'fixed-jti-for-crafted-tokens',
});

const refused: RefusedCase[] = [
  {
    name: 'no Authorization header',
    authorization: () => undefined,
    failedCheck: 'missing-header',
    decodable: false,
  },
  {
    name: 'empty Authorization header',
    authorization: () => '  ',
    failedCheck: 'missing-header',
    decodable: false,
  },
  { name: 'not a JWT', authorization: () => 'Bearer not-a-jwt', failedCheck: 'malformed', decodable: false },
  {
    name: 'Basic scheme',
    authorization: () => `Basic ${token()}`,
    failedCheck: 'malformed',
    decodable: false,
  },
  {
    name: 'three segments of garbage',
    authorization: () => 'Bearer aaaa.bbbb.cccc',
    failedCheck: 'malformed',
    decodable: false,
  },
  {
    name: 'payload is not a JSON object',
    authorization: () =>
      `Bearer ${Buffer.from('{"alg":"ES384"}').toString('base64url')}.${Buffer.from('"x"').toString('base64url')}.sig`,
    failedCheck: 'malformed',
    decodable: false,
  },
  {
    name: 'alg none',
    authorization: () => bearer(unsignedToken({ alg: 'none', typ: 'JWT', kid: esKey.kid }, okPayload())),
    failedCheck: 'algorithm',
  },
  {
    name: 'HS256 signed with the public key as secret',
    authorization: () =>
      bearer(hs256WithPublicKey(esKey.publicKey, { typ: 'JWT', kid: esKey.kid }, okPayload())),
    failedCheck: 'algorithm',
  },
  {
    name: 'PS384 (RSA-PSS, not on the allow-list)',
    authorization: () => bearer(token({ key: rsKey, alg: 'PS384' })),
    failedCheck: 'algorithm',
  },
  {
    name: 'ES256 header on a P-384 key',
    authorization: () => bearer(token({ key: p256Key, header: { kid: esKey.kid } })),
    failedCheck: 'algorithm',
  },
  {
    name: 'RS256 where the key declares RS384',
    authorization: () => bearer(token({ key: rsKey, alg: 'RS256' })),
    failedCheck: 'algorithm',
  },
  {
    name: 'unknown iss',
    authorization: () => bearer(token({ iss: 'https://evil.example' })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: 'iss differing by a trailing slash',
    authorization: () => bearer(token({ iss: `${EHR}/` })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: 'no iss',
    authorization: () => bearer(token({ claims: { iss: undefined } })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: "right iss, another issuer's key (its own kid)",
    authorization: () => bearer(token({ key: otherKey })),
    failedCheck: 'unknown-key',
  },
  {
    name: "right iss, another issuer's key under this issuer's kid",
    authorization: () => bearer(token({ key: otherKey, header: { kid: esKey.kid } })),
    failedCheck: 'signature',
  },
  {
    name: 'jku pointing elsewhere (issuer with a jwks_url)',
    authorization: () =>
      bearer(token({ key: remoteKey, iss: REMOTE, header: { jku: 'https://evil.example/jwks.json' } })),
    failedCheck: 'jku',
  },
  {
    name: 'jku on an issuer configured with an inline JWK Set',
    authorization: () => bearer(token({ header: { jku: 'https://ehr.example.org/jwks.json' } })),
    failedCheck: 'jku',
  },
  {
    name: 'wrong aud',
    authorization: () => bearer(token({ aud: 'https://evil.example/cds-services' })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of discovery used on the service',
    authorization: () => bearer(token({ aud: DISCOVERY })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of feedback used on the service',
    authorization: () => bearer(token({ aud: FEEDBACK })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of the service used on feedback',
    authorization: () => bearer(token({ aud: SERVICE })),
    audience: FEEDBACK,
    failedCheck: 'audience',
  },
  {
    name: 'aud of the service over http',
    authorization: () => bearer(token({ aud: SERVICE.replace('https:', 'http:') })),
    failedCheck: 'audience',
  },
  {
    name: 'no aud',
    authorization: () => bearer(token({ claims: { aud: undefined } })),
    failedCheck: 'audience',
  },
  {
    name: 'expired (beyond the skew)',
    authorization: () => bearer(token({ nowSeconds: T - 400, lifetimeSeconds: 300 })),
    failedCheck: 'expired',
  },
  {
    name: 'no exp',
    authorization: () => bearer(token({ claims: { exp: undefined } })),
    failedCheck: 'missing-exp',
  },
  {
    name: 'exp as a string',
    authorization: () => bearer(tamperPayload(token(), { exp: String(T + 300) })),
    failedCheck: 'missing-exp',
  },
  {
    name: 'no iat',
    authorization: () => bearer(token({ claims: { iat: undefined } })),
    failedCheck: 'missing-iat',
  },
  {
    name: 'iat far in the future',
    authorization: () => bearer(token({ nowSeconds: T + 600 })),
    failedCheck: 'issued-in-future',
  },
  {
    name: 'lifetime over the maximum',
    authorization: () => bearer(token({ lifetimeSeconds: 3601 })),
    failedCheck: 'lifetime',
  },
  {
    name: 'nbf in the future',
    authorization: () => bearer(token({ claims: { nbf: T + 600 } })),
    failedCheck: 'not-yet-valid',
  },
  {
    name: 'tenant missing for a tenant-bound issuer',
    authorization: () => bearer(token({ key: tenantKey, iss: TENANTED })),
    failedCheck: 'tenant',
  },
  {
    name: 'tenant of another organisation',
    authorization: () => bearer(token({ key: tenantKey, iss: TENANTED, claims: { tenant: 'hospital-b' } })),
    failedCheck: 'tenant',
  },
  {
    name: 'tampered payload',
    authorization: () => bearer(tamperPayload(token(), { sub: 'someone-else' })),
    failedCheck: 'signature',
  },
  {
    name: 'unknown kid',
    authorization: () => bearer(token({ header: { kid: 'no-such-key' } })),
    failedCheck: 'unknown-key',
  },
  {
    name: 'no kid',
    authorization: () => bearer(token({ header: { kid: undefined } })),
    failedCheck: 'missing-kid',
  },
  {
    name: 'typ other than JWT',
    authorization: () => bearer(token({ header: { typ: 'at+jwt' } })),
    failedCheck: 'typ',
  },
  {
    name: 'crit header',
    authorization: () => bearer(token({ header: { crit: ['exp'] } })),
    failedCheck: 'malformed',
  },
  {
    name: 'missing jti',
    authorization: () => bearer(token({ claims: { jti: undefined } })),
    failedCheck: 'missing-jti',
  },
  {
    name: 'empty jti',
    authorization: () => bearer(token({ claims: { jti: '' } })),
    failedCheck: 'missing-jti',
  },
];

describe('createClientJwtVerifier: refused', () => {
  it.each(refused)('$name -> $failedCheck', async (testCase) => {
    const { verify } = setup();
    const authorization = testCase.authorization();
    const result = await verify(authorization, testCase.audience ?? SERVICE);
    const jwtPart = authorization?.split(' ')[1];
    const ids = testCase.decodable === false || jwtPart === undefined ? {} : idsOf(jwtPart);
    expect(result).toEqual({ ok: false, failedCheck: testCase.failedCheck, ...ids });
  });

  it('refuses a replayed jti, and records nothing for refused tokens', async () => {
    const { verify } = setup();
    const jwt = token();
    const jti = decodePayload(jwt).jti as string;
    expect(await verify(bearer(jwt))).toEqual({ ok: true, client: ehrClient, iss: EHR, jti });
    expect(await verify(bearer(jwt))).toEqual({ ok: false, failedCheck: 'replay', iss: EHR, jti });

    // A forged token carrying a jti must not burn it for the real one.
    const real = token();
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
    const claims = { jti: 'shared-jti' };
    expect(await verify(bearer(token({ claims })))).toEqual({
      ok: true,
      client: ehrClient,
      iss: EHR,
      jti: 'shared-jti',
    });
    const tenantToken = token({ key: tenantKey, iss: TENANTED, claims: { ...claims, tenant: 'hospital-a' } });
    expect(await verify(bearer(tenantToken))).toEqual({
      ok: true,
      client: tenantClient,
      iss: TENANTED,
      jti: 'shared-jti',
    });
  });

  it('bounds and cleans the iss and jti it reports', async () => {
    const { verify } = setup();
    const result = await verify(
      bearer(token({ iss: `evil\n${'x'.repeat(400)}`, claims: { jti: 'a\u0007b' } })),
    );
    expect(result).toEqual({
      ok: false,
      failedCheck: 'unknown-issuer',
      iss: `evil?${'x'.repeat(251)}`,
      jti: 'a?b',
    });
  });
});

describe('createClientJwtVerifier: accepted', () => {
  const accepted: { name: string; jwt: () => string; audience?: string; client?: TrustedClient }[] = [
    { name: 'ES384', jwt: () => token() },
    { name: 'RS384', jwt: () => token({ key: rsKey }) },
    { name: 'ES256 with a P-256 key', jwt: () => token({ key: p256Key }) },
    { name: 'aud as an array', jwt: () => token({ aud: ['https://elsewhere.example', SERVICE] }) },
    { name: 'aud with a trailing slash', jwt: () => token({ aud: `${SERVICE}/` }) },
    { name: 'discovery aud on discovery', jwt: () => token({ aud: DISCOVERY }), audience: DISCOVERY },
    { name: 'feedback aud on feedback', jwt: () => token({ aud: FEEDBACK }), audience: FEEDBACK },
    {
      name: 'extra claims (sub, nbf in the past, custom), Epic-style 15-minute lifetime',
      jwt: () =>
        token({
          nowSeconds: T - 60,
          lifetimeSeconds: 900,
          claims: { sub: 'epic-client-id', nbf: T - 360, x: { y: 1 } },
        }),
    },
    {
      name: 'expired within the clock skew',
      jwt: () => token({ nowSeconds: T - 330, lifetimeSeconds: 300 }),
    },
    { name: 'iat slightly ahead (within the skew)', jwt: () => token({ nowSeconds: T + 30 }) },
    { name: 'lifetime exactly the maximum', jwt: () => token({ lifetimeSeconds: 3600 }) },
    { name: 'no typ header', jwt: () => token({ header: { typ: undefined } }) },
    {
      name: 'tenant claim on an issuer without a configured tenant',
      jwt: () => token({ claims: { tenant: 'whatever' } }),
    },
    {
      name: 'matching tenant',
      jwt: () => token({ key: tenantKey, iss: TENANTED, claims: { tenant: 'hospital-a' } }),
      client: tenantClient,
    },
    {
      name: 'jku equal to the configured jwks_url',
      jwt: () => token({ key: remoteKey, iss: REMOTE, header: { jku: REMOTE_JWKS } }),
      client: remoteClient,
    },
    {
      name: 'no jku, keys from the configured jwks_url',
      jwt: () => token({ key: remoteKey, iss: REMOTE }),
      client: remoteClient,
    },
  ];

  it.each(accepted)('$name', async (testCase) => {
    const { verify } = setup();
    const jwt = testCase.jwt();
    const client = testCase.client ?? ehrClient;
    const result = await verify(`Bearer ${jwt}`, testCase.audience ?? SERVICE);
    expect(result).toEqual({ ok: true, client, iss: client.iss, jti: decodePayload(jwt).jti });
  });

  it('accepts a lower-case bearer scheme', async () => {
    const { verify } = setup();
    const jwt = token();
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
      const result = await verify(bearer(token({ key: remoteKey, iss: REMOTE })));
      expect(result.ok).toBe(true);
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
    const long = token({ lifetimeSeconds: 901 });
    expect(await verifier.verify(bearer(long), SERVICE)).toEqual({
      ok: false,
      failedCheck: 'lifetime',
      ...idsOf(long),
    });
    const rs = token({ key: rsKey });
    expect(await verifier.verify(bearer(rs), SERVICE)).toEqual({
      ok: false,
      failedCheck: 'algorithm',
      ...idsOf(rs),
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
