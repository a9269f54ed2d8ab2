/**
 * The demo EHR client for the README's quick start (issue 4: "the embedded default trusts a locally
 * generated demo key, which the demo client uses to sign"), so the quick start runs with JWT
 * verification on. An ES384 key pair (CDS Hooks 2.0 "JWT Signing Algorithm": ES384 RECOMMENDED) is
 * generated once into the data directory (private key 0600) and reused afterwards.
 *
 * Also `signClientJwt`, which builds a client JWT as the spec's "Trusting CDS Clients" section
 * describes, for the demo EHR simulator, scripts/check-registration.ts and tests.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { normaliseBaseUrl } from './fhir-server-binding.js';
import type { AllowedAlgorithm } from './jwk.js';
import type { TrustedClient } from './trusted-clients.js';

export const DEMO_CLIENT_ISSUER = 'urn:crs-sentinel:demo-ehr';
export const DEMO_FHIR_SERVER = 'http://127.0.0.1:8080/fhir';
export const DEMO_PRIVATE_KEY_FILE = 'demo-ehr-es384.key.pem';

export interface DemoClient {
  readonly client: TrustedClient;
  readonly privateKeyPemPath: string;
  /** The key's `kid`: its RFC 7638 JWK thumbprint. */
  readonly kid: string;
}

export interface DemoClientOptions {
  /** FHIR base URLs the demo client may name (default [DEMO_FHIR_SERVER]). */
  readonly fhirServers?: readonly string[];
  readonly iss?: string;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC or RSA public key. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function loadOrCreatePrivateKey(path: string): KeyObject {
  try {
    const pem = generateKeyPairSync('ec', {
      namedCurve: 'P-384',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    // 'wx': never overwrite; a concurrent start that lost the race reads the winner's key below.
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST'))
      throw error;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path} is not a readable private key: delete it to generate a new demo key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new Error(`${path} is not an EC P-384 key: delete it to generate a new demo key`);
  }
  return key;
}

/**
 * Returns the demo client, generating its ES384 key pair into `dataDir` on first use. The trusted
 * client entry holds only the public key (inline JWK Set). Plain http FHIR servers are allowed for
 * this client only when one is listed (the local sandbox).
 */
export function ensureDemoClient(dataDir: string, options: DemoClientOptions = {}): DemoClient {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const privateKeyPemPath = join(dataDir, DEMO_PRIVATE_KEY_FILE);
  const privateKey = loadOrCreatePrivateKey(privateKeyPemPath);
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = jwkThumbprint(publicJwk);
  const fhirServers: string[] = [];
  let allowInsecureHttp = false;
  for (const server of options.fhirServers ?? [DEMO_FHIR_SERVER]) {
    const normalised = normaliseBaseUrl(server);
    if (!normalised.ok) throw new Error(`demo FHIR server ${JSON.stringify(server)} ${normalised.reason}`);
    if (normalised.insecure) allowInsecureHttp = true;
    if (!fhirServers.includes(normalised.url)) fhirServers.push(normalised.url);
  }
  const client: TrustedClient = {
    iss: options.iss ?? DEMO_CLIENT_ISSUER,
    keySource: { kind: 'jwks', jwks: { keys: [{ ...publicJwk, kid, alg: 'ES384', use: 'sig' }] } },
    fhirServers,
    allowInsecureHttp,
  };
  return { client, privateKeyPemPath, kid };
}

export interface SignClientJwtOptions {
  /** PEM text (PKCS#8, SEC1 or PKCS#1) or a private KeyObject. */
  readonly privateKeyPem: string | KeyObject;
  readonly kid: string;
  readonly iss: string;
  /** The exact URL of the endpoint to be called (CDS Hooks 2.0: "the URL of the CDS Service endpoint being invoked"). */
  readonly aud: string | readonly string[];
  readonly alg?: AllowedAlgorithm;
  /** Default 300 s. */
  readonly lifetimeSeconds?: number;
  readonly jku?: string;
  readonly tenant?: string;
  /** Further claims (`sub`, `nbf`, ...). They cannot replace iss, aud, exp, iat or jti. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  readonly now?: () => Date;
}

/** Signs a CDS client JWT: header {alg, typ: JWT, kid, jku?}; claims iss, aud, exp, iat, jti (random), tenant?. */
export function signClientJwt(options: SignClientJwtOptions): string {
  const iat = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const alg = options.alg ?? 'ES384';
  const payload = {
    ...options.extraClaims,
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    iss: options.iss,
    aud: typeof options.aud === 'string' ? options.aud : [...options.aud],
    iat,
    exp: iat + (options.lifetimeSeconds ?? 300),
    jti: randomUUID(),
  };
  const header = {
    alg,
    typ: 'JWT',
    kid: options.kid,
    ...(options.jku === undefined ? {} : { jku: options.jku }),
  };
  const key =
    typeof options.privateKeyPem === 'string'
      ? createPrivateKey(options.privateKeyPem)
      : options.privateKeyPem;
  return jwt.sign(payload, key, { algorithm: alg, header });
}
