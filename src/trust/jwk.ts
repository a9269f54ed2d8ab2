/**
 * JWK Set handling for client JWT verification (CDS Hooks 2.0 "Trusting CDS Clients": "The CDS
 * Client MUST make its public key, expressed as a JSON Web Key (JWK), available in a JWK Set, as
 * defined by rfc7517"). Keys are imported with node's own `crypto.createPublicKey({ format: 'jwk' })`;
 * nothing here does any cryptography by hand.
 */
import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';

/**
 * The signature algorithms this service accepts (CDS Hooks 2.0 "JWT Signing Algorithm": ES384 and
 * RS384 are RECOMMENDED; `none` and every symmetric (HMAC) algorithm SHALL NOT be used).
 */
export const ALLOWED_ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256', 'ES512', 'RS512'] as const;
export type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

export function isAllowedAlgorithm(value: unknown): value is AllowedAlgorithm {
  return typeof value === 'string' && (ALLOWED_ALGORITHMS as readonly string[]).includes(value);
}

/** EC curve (node's name) each ES algorithm requires (RFC 7518 section 3.4). */
const CURVE_FOR_ALGORITHM: Partial<Record<AllowedAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/** RSA keys below 2048 bits are refused (RFC 7518 section 3.3). */
export const MIN_RSA_MODULUS_BITS = 2048;

/** A public verification key from a client's JWK Set. */
export interface VerificationKey {
  readonly kid: string;
  readonly key: KeyObject;
  /** The JWK's own `alg`, when it declares one: the JWT must then use exactly that algorithm. */
  readonly alg?: AllowedAlgorithm;
}

/** JWK members that only a private or symmetric key carries (RFC 7518 section 6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export type ImportedJwk =
  { readonly ok: true; readonly key: VerificationKey } | { readonly ok: false; readonly reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Imports one JWK as a public verification key, or says why it cannot be used: it must be an EC
 * (P-256/384/521) or RSA (>= 2048 bits) public key for signatures, with a `kid` (the JWT header's
 * `kid` is REQUIRED and selects the key), and an `alg`, if present, from the allow-list.
 */
export function importVerificationJwk(jwk: unknown): ImportedJwk {
  if (!isRecord(jwk)) return { ok: false, reason: 'is not a JSON object' };
  if (jwk.kty !== 'EC' && jwk.kty !== 'RSA') return { ok: false, reason: 'kty must be "EC" or "RSA"' };
  if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) {
    return { ok: false, reason: 'kid must be a non-empty string' };
  }
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
    return { ok: false, reason: 'contains private key material: publish only the public key' };
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return { ok: false, reason: 'use must be "sig"' };
  if (jwk.alg !== undefined && !isAllowedAlgorithm(jwk.alg)) {
    return { ok: false, reason: `alg must be one of ${ALLOWED_ALGORITHMS.join(', ')}` };
  }
  // Only the members node needs: extra JWK members (x5c, key_ops, ...) are ignored.
  const { crv, x, y, n, e } = jwk;
  let material: JsonWebKey;
  if (jwk.kty === 'EC' && typeof crv === 'string' && typeof x === 'string' && typeof y === 'string') {
    material = { kty: 'EC', crv, x, y };
  } else if (jwk.kty === 'RSA' && typeof n === 'string' && typeof e === 'string') {
    material = { kty: 'RSA', n, e };
  } else {
    return { ok: false, reason: 'is not a valid public key' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: material, format: 'jwk' });
  } catch {
    return { ok: false, reason: 'is not a valid public key' };
  }
  const alg = jwk.alg;
  const problem = keyProblem(key, alg);
  if (problem !== undefined) return { ok: false, reason: problem };
  return { ok: true, key: alg === undefined ? { kid: jwk.kid, key } : { kid: jwk.kid, key, alg } };
}

function keyProblem(key: KeyObject, alg: AllowedAlgorithm | undefined): string | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    if ((details?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) {
      return `RSA keys must have at least ${MIN_RSA_MODULUS_BITS} bits`;
    }
    if (alg !== undefined && !alg.startsWith('RS')) return `alg ${alg} does not fit an RSA key`;
    return undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = details?.namedCurve;
    if (curve === undefined || !Object.values(CURVE_FOR_ALGORITHM).includes(curve)) {
      return 'EC keys must use P-256, P-384 or P-521';
    }
    if (alg !== undefined && CURVE_FOR_ALGORITHM[alg] !== curve)
      return `alg ${alg} does not fit the key's curve`;
    return undefined;
  }
  return 'key type is not supported';
}

/** True when `key` can verify a JWS made with `alg` (RS* needs RSA; ES* needs the matching curve). */
export function keyFitsAlgorithm(key: VerificationKey, alg: AllowedAlgorithm): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (key.key.asymmetricKeyType === 'rsa') return alg.startsWith('RS');
  if (key.key.asymmetricKeyType === 'ec')
    return CURVE_FOR_ALGORITHM[alg] === key.key.asymmetricKeyDetails?.namedCurve;
  return false;
}

export interface ImportedJwks {
  readonly keys: readonly VerificationKey[];
  /** Why each unusable key was skipped, as `keys[i]: reason` (no key material). */
  readonly skipped: readonly string[];
}

/**
 * Imports a JWK Set (`{ "keys": [...] }`), keeping the usable keys. A remote JWK Set may carry
 * encryption keys or other key types next to the signing keys: those are skipped, not fatal.
 * Duplicate `kid`s are all skipped, since the spec requires `kid` to be unique within the set.
 */
export function importVerificationJwks(jwks: unknown): ImportedJwks {
  const rawKeys = isRecord(jwks) && Array.isArray(jwks.keys) ? (jwks.keys as unknown[]) : undefined;
  if (rawKeys === undefined) return { keys: [], skipped: ['the document has no "keys" array'] };
  const keys: VerificationKey[] = [];
  const skipped: string[] = [];
  rawKeys.forEach((jwk, index) => {
    const imported = importVerificationJwk(jwk);
    if (imported.ok) keys.push(imported.key);
    else skipped.push(`keys[${index}]: ${imported.reason}`);
  });
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key.kid, (counts.get(key.kid) ?? 0) + 1);
  const unique = keys.filter((key) => counts.get(key.kid) === 1);
  for (const [kid, count] of counts) {
    if (count > 1) skipped.push(`kid ${JSON.stringify(kid)} appears ${count} times`);
  }
  return { keys: unique, skipped };
}
