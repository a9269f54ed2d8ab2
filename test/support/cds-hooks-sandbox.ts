/**
 * The public CDS Hooks Sandbox (https://sandbox.cds-hooks.org, source github.com/cds-hooks/sandbox)
 * as a client, reproduced from its source so the tests send what it sends:
 * - src/retrieve-data-helpers/jwt-generator.js: ES384, `typ` JWT, its fixed `kid` and `jku`,
 *   `iss` https://sandbox.cds-hooks.org, `aud` the exact URL called, 300 s lifetime, uuid `jti`;
 * - src/retrieve-data-helpers/discovery-services-retrieval.js and
 *   src/reducers/cds-services-reducers.js: discovery at the URL the user typed, each service at
 *   `${discoveryUrl}/${service.id}` (a typed trailing slash gives `//`);
 * - src/retrieve-data-helpers/service-exchange.js: the hook body (uuid v4 `hookInstance`, `hook`,
 *   `fhirServer`, `context` with `patientId` and `userId`, `fhirAuthorization` only with a SMART
 *   token) and a `prefetch` holding only the keys it could fetch, or none at all;
 * - src/components/CardList/card-list.jsx: feedback at `${serviceUrl}/feedback`, one item per
 *   call, `overrideReason.reason` with a code and maybe a system, never a display.
 *
 * Its private key is published in that repository (keys/ecprivkey.pem) on purpose, which is why
 * its issuer is for testing only (docs/registration.md).
 */
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import jwt from 'jsonwebtoken';

export const SANDBOX_ORIGIN = 'https://sandbox.cds-hooks.org';
export const SANDBOX_ISS = 'https://sandbox.cds-hooks.org';
export const SANDBOX_JKU = 'https://sandbox.cds-hooks.org/.well-known/jwks.json';
export const SANDBOX_KID = '44823f3d-0b01-4a6c-a80e-b9d3e8a7226f';

/** keys/ecprivkey.pem of cds-hooks/sandbox (public by design). */
const SANDBOX_PRIVATE_KEY = createPrivateKey(`-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDI5xiX1DMwqcEVSI9k
oGKMNX+WwS2fqhYVU6q0XJdtj/5XrdYIFhh3Gwuj09yWvzihZANiAAR3D8kZHycH
Yjpe943FQ6XaqTr31k8szadgjlJNJ2ISX1q8CSubcKR9gxuuuOvyVoFKbeYsT6fX
Ng2Vr9qITdxvedmwvnVFsLvKzDerxokvEab6HHv1E8xikhMOOnuSDPI=
-----END PRIVATE KEY-----`);

/** Its public JWK Set, as served at SANDBOX_JKU (build/.well-known/jwks.json). */
export const SANDBOX_JWKS = {
  keys: [
    {
      kty: 'EC',
      use: 'sig',
      crv: 'P-384',
      kid: SANDBOX_KID,
      x: 'dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB',
      y: 'Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy',
      alg: 'ES384',
    },
  ],
};

/** The CDS_CLIENTS entry docs/registration.md gives for the sandbox (pinned keys plus jwks_url). */
export function sandboxClientEntry(fhirServers: string[]): Record<string, unknown> {
  return {
    iss: SANDBOX_ISS,
    jwks: SANDBOX_JWKS,
    jwks_url: SANDBOX_JKU,
    fhir_servers: fhirServers,
    ...(fhirServers.some((url) => url.startsWith('http:')) ? { allow_insecure_http: true } : {}),
  };
}

/** The sandbox's JWT for `aud` at `nowSeconds`; `header` and `claims` override (tests of attacks). */
export function sandboxJwt(
  aud: string,
  nowSeconds: number,
  change: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
): string {
  const payload = { iss: SANDBOX_ISS, aud, exp: nowSeconds + 300, iat: nowSeconds, jti: randomUUID() };
  const header = { alg: 'ES384', typ: 'JWT', kid: SANDBOX_KID, jku: SANDBOX_JKU, ...change.header };
  return jwt.sign({ ...payload, ...change.claims }, SANDBOX_PRIVATE_KEY, {
    algorithm: 'ES384',
    header: header as unknown as jwt.JwtHeader,
  });
}

/**
 * A compact JWS signed ES384 by the sandbox's key with exactly this header and payload (no
 * library adding or checking claims): for tokens jsonwebtoken will not make, e.g. without `exp`.
 */
export function signAsSandbox(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${segment(header)}.${segment(payload)}`;
  const signature = sign('sha384', Buffer.from(input), {
    key: SANDBOX_PRIVATE_KEY,
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${signature.toString('base64url')}`;
}

/** The hook body of service-exchange.js `callServices`. */
export function sandboxHookRequest(options: {
  fhirServer: string;
  patientId: string;
  prefetch?: Record<string, unknown>;
  accessToken?: { access_token: string; expires_in: number };
}): Record<string, unknown> {
  return {
    hookInstance: randomUUID(),
    hook: 'patient-view',
    fhirServer: options.fhirServer,
    context: { patientId: options.patientId, userId: 'Practitioner/COREPRACTITIONER1' },
    ...(options.accessToken
      ? {
          fhirAuthorization: {
            access_token: options.accessToken.access_token,
            token_type: 'Bearer',
            expires_in: options.accessToken.expires_in,
            scope: 'launch user/*.* patient/*.read openid profile',
            subject: '48163c5e-88b5-4cb3-92d3-23b800caa927',
          },
        }
      : {}),
    ...(options.prefetch && Object.keys(options.prefetch).length > 0 ? { prefetch: options.prefetch } : {}),
  };
}

/** The feedback bodies card-list.jsx sends: a taken suggestion, a dismissal with and without reason. */
export function sandboxFeedbackBodies(cardUuid: string, suggestionUuid: string): Record<string, unknown>[] {
  const outcomeTimestamp = new Date('2025-01-15T12:01:00Z').toISOString();
  return [
    {
      feedback: [
        {
          card: cardUuid,
          outcome: 'accepted',
          acceptedSuggestions: [{ id: suggestionUuid }],
          outcomeTimestamp,
        },
      ],
    },
    { feedback: [{ card: cardUuid, outcome: 'overridden', outcomeTimestamp }] },
    {
      feedback: [
        {
          card: cardUuid,
          outcome: 'overridden',
          overrideReason: { reason: { code: 'not-crs', system: 'https://example.org/override-reasons' } },
          outcomeTimestamp,
        },
      ],
    },
  ];
}
