/**
 * The client-JWT test matrix (issue 4, "Done when"), shared by the verifier unit tests and the
 * HTTP-level tests: real ES384/RS384 keys made here, real JWTs signed with jsonwebtoken, each case
 * naming the check that must refuse it.
 */
import {
  decodePayload,
  hs256WithPublicKey,
  makeEcKey,
  makeRsaKey,
  signToken,
  tamperPayload,
  unsignedToken,
} from './helpers.js';
import type { TokenSpec } from './helpers.js';

export const START_MS = 1_750_000_000_000;
export const T = START_MS / 1000;

export const EHR = 'https://ehr.example.org/fhir';
export const OTHER = 'https://other-ehr.example.org';
export const TENANTED = 'https://tenanted-ehr.example.org';
export const REMOTE = 'https://remote-ehr.example.org';
export const REMOTE_JWKS = 'https://remote-ehr.example.org/.well-known/jwks.json';

export const keys = {
  es: makeEcKey('ehr-es384'),
  rs: makeRsaKey('ehr-rs384'),
  p256: makeEcKey('ehr-es256', 'P-256'),
  other: makeEcKey('other-es384'),
  tenant: makeEcKey('tenant-es384'),
  remote: makeEcKey('remote-es384'),
};

/** CDS_CLIENTS entries for the four test issuers; `ehrFhirServers` go to the main issuer. */
export function clientEntries(ehrFhirServers: string[] = ['https://ehr.example.org/fhir/R4']): unknown[] {
  return [
    {
      iss: EHR,
      jwks: { keys: [keys.es.jwk, keys.rs.jwk, keys.p256.jwk] },
      fhir_servers: ehrFhirServers,
      ...(ehrFhirServers.some((url) => url.startsWith('http:')) ? { allow_insecure_http: true } : {}),
    },
    { iss: OTHER, jwks: { keys: [keys.other.jwk] }, fhir_servers: ['https://other-ehr.example.org/R4'] },
    {
      iss: TENANTED,
      jwks: { keys: [keys.tenant.jwk] },
      fhir_servers: ['https://tenanted-ehr.example.org/R4'],
      tenant: 'hospital-a',
    },
    { iss: REMOTE, jwks_url: REMOTE_JWKS, fhir_servers: ['https://remote-ehr.example.org/R4'] },
  ];
}

export const remoteJwks = { keys: [keys.remote.jwk] };

export type Endpoint = 'discovery' | 'service' | 'feedback';

export interface Endpoints {
  readonly discovery: string;
  readonly service: string;
  readonly feedback: string;
}

export function endpointsOf(base: string): Endpoints {
  return {
    discovery: `${base}/cds-services`,
    service: `${base}/cds-services/crs-sentinel`,
    feedback: `${base}/cds-services/crs-sentinel/feedback`,
  };
}

/** A JWT from the main issuer's ES384 key for the service endpoint, with overrides. */
export function tokenFor(e: Endpoints, overrides: Partial<TokenSpec> = {}): string {
  return signToken({ key: keys.es, nowSeconds: T, iss: EHR, aud: e.service, ...overrides });
}

/** The iss and jti a refused result reports for `jwt` (as decoded, unverified). */
export function idsOf(jwt: string): { iss?: string; jti?: string } {
  const payload = decodePayload(jwt);
  return {
    ...(typeof payload.iss === 'string' ? { iss: payload.iss } : {}),
    ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
  };
}

export interface RefusedCase {
  readonly name: string;
  readonly authorization: (e: Endpoints) => string | undefined;
  /** Endpoint called (default: service). */
  readonly endpoint?: Endpoint;
  readonly failedCheck: string;
  /** false when the result carries no iss/jti (nothing decodable). */
  readonly decodable?: boolean;
}

const bearer = (jwt: string): string => `Bearer ${jwt}`;

const craftedPayload = (e: Endpoints): Record<string, unknown> => ({
  iss: EHR,
  aud: e.service,
  iat: T,
  exp: T + 300,
  jti: 'fixed-jti-for-crafted-tokens',
});

export const refusedCases: readonly RefusedCase[] = [
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
    authorization: (e) => `Basic ${tokenFor(e)}`,
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
    authorization: (e) =>
      bearer(unsignedToken({ alg: 'none', typ: 'JWT', kid: keys.es.kid }, craftedPayload(e))),
    failedCheck: 'algorithm',
  },
  {
    name: 'HS256 signed with the public key as secret',
    authorization: (e) =>
      bearer(hs256WithPublicKey(keys.es.publicKey, { typ: 'JWT', kid: keys.es.kid }, craftedPayload(e))),
    failedCheck: 'algorithm',
  },
  {
    name: 'PS384 (RSA-PSS, not on the allow-list)',
    authorization: (e) => bearer(tokenFor(e, { key: keys.rs, alg: 'PS384' })),
    failedCheck: 'algorithm',
  },
  {
    name: 'ES256 header on a P-384 key',
    authorization: (e) => bearer(tokenFor(e, { key: keys.p256, header: { kid: keys.es.kid } })),
    failedCheck: 'algorithm',
  },
  {
    name: 'RS256 where the key declares RS384',
    authorization: (e) => bearer(tokenFor(e, { key: keys.rs, alg: 'RS256' })),
    failedCheck: 'algorithm',
  },
  {
    name: 'unknown iss',
    authorization: (e) => bearer(tokenFor(e, { iss: 'https://evil.example' })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: 'iss differing by a trailing slash',
    authorization: (e) => bearer(tokenFor(e, { iss: `${EHR}/` })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: 'no iss',
    authorization: (e) => bearer(tokenFor(e, { claims: { iss: undefined } })),
    failedCheck: 'unknown-issuer',
  },
  {
    name: "right iss, another issuer's key (its own kid)",
    authorization: (e) => bearer(tokenFor(e, { key: keys.other })),
    failedCheck: 'unknown-key',
  },
  {
    name: "right iss, another issuer's key under this issuer's kid",
    authorization: (e) => bearer(tokenFor(e, { key: keys.other, header: { kid: keys.es.kid } })),
    failedCheck: 'signature',
  },
  {
    name: 'jku pointing elsewhere (issuer with a jwks_url)',
    authorization: (e) =>
      bearer(
        tokenFor(e, { key: keys.remote, iss: REMOTE, header: { jku: 'https://evil.example/jwks.json' } }),
      ),
    failedCheck: 'jku',
  },
  {
    name: 'wrong aud',
    authorization: (e) => bearer(tokenFor(e, { aud: 'https://evil.example/cds-services' })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of discovery used on the service',
    authorization: (e) => bearer(tokenFor(e, { aud: e.discovery })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of feedback used on the service',
    authorization: (e) => bearer(tokenFor(e, { aud: e.feedback })),
    failedCheck: 'audience',
  },
  {
    name: 'aud of the service used on feedback',
    authorization: (e) => bearer(tokenFor(e, { aud: e.service })),
    endpoint: 'feedback',
    failedCheck: 'audience',
  },
  {
    name: 'aud of the service used on discovery',
    authorization: (e) => bearer(tokenFor(e, { aud: e.service })),
    endpoint: 'discovery',
    failedCheck: 'audience',
  },
  {
    name: 'aud of the service over http',
    authorization: (e) => bearer(tokenFor(e, { aud: e.service.replace('https:', 'http:') })),
    failedCheck: 'audience',
  },
  {
    name: 'no aud',
    authorization: (e) => bearer(tokenFor(e, { claims: { aud: undefined } })),
    failedCheck: 'audience',
  },
  {
    name: 'expired (beyond the skew)',
    authorization: (e) => bearer(tokenFor(e, { nowSeconds: T - 400, lifetimeSeconds: 300 })),
    failedCheck: 'expired',
  },
  {
    name: 'no exp',
    authorization: (e) => bearer(tokenFor(e, { claims: { exp: undefined } })),
    failedCheck: 'missing-exp',
  },
  {
    name: 'exp as a string',
    authorization: (e) => bearer(tamperPayload(tokenFor(e), { exp: String(T + 300) })),
    failedCheck: 'missing-exp',
  },
  {
    name: 'no iat',
    authorization: (e) => bearer(tokenFor(e, { claims: { iat: undefined } })),
    failedCheck: 'missing-iat',
  },
  {
    name: 'iat far in the future',
    authorization: (e) => bearer(tokenFor(e, { nowSeconds: T + 600 })),
    failedCheck: 'issued-in-future',
  },
  {
    name: 'lifetime over the maximum',
    authorization: (e) => bearer(tokenFor(e, { lifetimeSeconds: 3601 })),
    failedCheck: 'lifetime',
  },
  {
    name: 'nbf in the future',
    authorization: (e) => bearer(tokenFor(e, { claims: { nbf: T + 600 } })),
    failedCheck: 'not-yet-valid',
  },
  {
    name: 'tenant missing for a tenant-bound issuer',
    authorization: (e) => bearer(tokenFor(e, { key: keys.tenant, iss: TENANTED })),
    failedCheck: 'tenant',
  },
  {
    name: 'tenant of another organisation',
    authorization: (e) =>
      bearer(tokenFor(e, { key: keys.tenant, iss: TENANTED, claims: { tenant: 'hospital-b' } })),
    failedCheck: 'tenant',
  },
  {
    name: 'tampered payload',
    authorization: (e) => bearer(tamperPayload(tokenFor(e), { sub: 'someone-else' })),
    failedCheck: 'signature',
  },
  {
    name: 'unknown kid',
    authorization: (e) => bearer(tokenFor(e, { header: { kid: 'no-such-key' } })),
    failedCheck: 'unknown-key',
  },
  {
    name: 'no kid',
    authorization: (e) => bearer(tokenFor(e, { header: { kid: undefined } })),
    failedCheck: 'missing-kid',
  },
  {
    name: 'typ other than JWT',
    authorization: (e) => bearer(tokenFor(e, { header: { typ: 'at+jwt' } })),
    failedCheck: 'typ',
  },
  {
    name: 'crit header',
    authorization: (e) => bearer(tokenFor(e, { header: { crit: ['exp'] } })),
    failedCheck: 'malformed',
  },
  {
    name: 'missing jti',
    authorization: (e) => bearer(tokenFor(e, { claims: { jti: undefined } })),
    failedCheck: 'missing-jti',
  },
  {
    name: 'empty jti',
    authorization: (e) => bearer(tokenFor(e, { claims: { jti: '' } })),
    failedCheck: 'missing-jti',
  },
];

export interface AcceptedCase {
  readonly name: string;
  readonly jwt: (e: Endpoints) => string;
  readonly endpoint?: Endpoint;
  /** Which configured client it authenticates as (index into clientEntries(); default 0). */
  readonly client?: number;
}

export const acceptedCases: readonly AcceptedCase[] = [
  { name: 'ES384', jwt: (e) => tokenFor(e) },
  { name: 'RS384', jwt: (e) => tokenFor(e, { key: keys.rs }) },
  { name: 'ES256 with a P-256 key', jwt: (e) => tokenFor(e, { key: keys.p256 }) },
  { name: 'aud as an array', jwt: (e) => tokenFor(e, { aud: ['https://elsewhere.example', e.service] }) },
  { name: 'aud with a trailing slash', jwt: (e) => tokenFor(e, { aud: `${e.service}/` }) },
  {
    name: 'discovery aud on discovery',
    jwt: (e) => tokenFor(e, { aud: e.discovery }),
    endpoint: 'discovery',
  },
  { name: 'feedback aud on feedback', jwt: (e) => tokenFor(e, { aud: e.feedback }), endpoint: 'feedback' },
  {
    name: 'extra claims (sub, nbf in the past, custom), Epic-style 15-minute lifetime',
    jwt: (e) =>
      tokenFor(e, {
        nowSeconds: T - 60,
        lifetimeSeconds: 900,
        claims: { sub: 'epic-client-id', nbf: T - 360, x: { y: 1 } },
      }),
  },
  {
    name: 'expired within the clock skew',
    jwt: (e) => tokenFor(e, { nowSeconds: T - 330, lifetimeSeconds: 300 }),
  },
  { name: 'iat slightly ahead (within the skew)', jwt: (e) => tokenFor(e, { nowSeconds: T + 30 }) },
  { name: 'lifetime exactly the maximum', jwt: (e) => tokenFor(e, { lifetimeSeconds: 3600 }) },
  { name: 'no typ header', jwt: (e) => tokenFor(e, { header: { typ: undefined } }) },
  {
    name: 'tenant claim on an issuer without a configured tenant',
    jwt: (e) => tokenFor(e, { claims: { tenant: 'whatever' } }),
  },
  {
    name: 'matching tenant',
    jwt: (e) => tokenFor(e, { key: keys.tenant, iss: TENANTED, claims: { tenant: 'hospital-a' } }),
    client: 2,
  },
  {
    name: 'jku equal to the configured jwks_url',
    jwt: (e) => tokenFor(e, { key: keys.remote, iss: REMOTE, header: { jku: REMOTE_JWKS } }),
    client: 3,
  },
  {
    // Pinned keys decide (the public CDS Hooks Sandbox always sends a jku): accepted, nothing fetched.
    name: 'jku on an issuer configured with an inline (pinned) JWK Set',
    jwt: (e) => tokenFor(e, { header: { jku: 'https://ehr.example.org/jwks.json' } }),
  },
  {
    name: 'no jku, keys from the configured jwks_url',
    jwt: (e) => tokenFor(e, { key: keys.remote, iss: REMOTE }),
    client: 3,
  },
];
