/**
 * Test helpers for the trust tests: real key pairs made with node's crypto, real JWTs signed with
 * jsonwebtoken, and a JWK Set server on 127.0.0.1 that counts its requests.
 */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK with kid, use and alg. */
  readonly jwk: JsonWebKey;
  readonly alg: 'ES384' | 'RS384' | 'ES256';
}

export function makeEcKey(kid: string, curve: 'P-384' | 'P-256' = 'P-384'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const alg = curve === 'P-384' ? 'ES384' : 'ES256';
  return {
    kid,
    privateKey,
    publicKey,
    alg,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg },
  };
}

export function makeRsaKey(kid: string, modulusLength = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return {
    kid,
    privateKey,
    publicKey,
    alg: 'RS384',
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS384' },
  };
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface TokenSpec {
  readonly key: TestKey;
  /** Seconds since the epoch that iat/exp are based on. */
  readonly nowSeconds: number;
  readonly iss: string;
  readonly aud: string | string[];
  readonly lifetimeSeconds?: number;
  /** Header members to add or override (undefined removes one). */
  readonly header?: Record<string, unknown>;
  /** Claims to add or override (undefined removes one). */
  readonly claims?: Record<string, unknown>;
  readonly alg?: jwt.Algorithm;
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** A real JWT signed by `spec.key` with jsonwebtoken. */
export function signToken(spec: TokenSpec): string {
  const alg = spec.alg ?? spec.key.alg;
  const payload = withoutUndefined({
    iss: spec.iss,
    aud: spec.aud,
    iat: spec.nowSeconds,
    exp: spec.nowSeconds + (spec.lifetimeSeconds ?? 300),
    jti: randomUUID(),
    ...spec.claims,
  });
  const header = withoutUndefined({ alg, typ: 'JWT', kid: spec.key.kid, ...spec.header });
  return jwt.sign(payload, spec.key.privateKey, {
    algorithm: alg,
    header: header as unknown as jwt.JwtHeader,
    // jsonwebtoken keeps a given iat; noTimestamp only when the test removed it on purpose.
    noTimestamp: !('iat' in payload),
    // Test tokens may be signed with deliberately weak keys, which the verifier must refuse.
    allowInsecureKeySizes: true,
  });
}

/** `alg: none`: header and payload only, empty signature. */
export function unsignedToken(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${base64url(header)}.${base64url(payload)}.`;
}

/**
 * The classic key-confusion attack: HS256 with the issuer's *public* key (PEM) as the HMAC secret.
 * Built by hand because jsonwebtoken rightly refuses to produce it.
 */
export function hs256WithPublicKey(
  publicKey: KeyObject,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const secret = publicKey.export({ format: 'pem', type: 'spki' });
  const signingInput = `${base64url({ ...header, alg: 'HS256' })}.${base64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function tamperPayload(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${base64url({ ...claims, ...change })}.${signature}`;
}

export function decodePayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1]!;
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface CountingServer {
  readonly url: string;
  readonly server: Server;
  requests: number;
  /** What the server answers on every request. */
  respond: (path: string) => { status: number; body?: unknown; headers?: Record<string, string> };
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) that counts every request it gets. */
export async function startCountingServer(
  respond: CountingServer['respond'] = () => ({ status: 404 }),
): Promise<CountingServer> {
  const state: CountingServer = {
    url: '',
    server: createServer((request, response) => {
      state.requests++;
      const answer = state.respond(request.url ?? '/');
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    }),
    requests: 0,
    respond,
    close: () =>
      new Promise<void>((resolve, reject) => {
        state.server.closeAllConnections();
        state.server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  const { port } = state.server.address() as AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}`;
  return state;
}

/** A fake clock shared by the verifier, the key resolver and the replay cache. */
export function fakeClock(startMs: number): {
  now: () => Date;
  nowMs: () => number;
  advance: (ms: number) => void;
  seconds: () => number;
} {
  let current = startMs;
  return {
    now: () => new Date(current),
    nowMs: () => current,
    advance: (ms) => {
      current += ms;
    },
    seconds: () => Math.floor(current / 1000),
  };
}
