import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEMO_CLIENT_ISSUER,
  DEMO_PRIVATE_KEY_FILE,
  ensureDemoClient,
  signClientJwt,
} from '../../src/trust/demo-client.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { isFhirServerAllowed } from '../../src/trust/fhir-server-binding.js';
import { decodePayload } from './helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crs-trust-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const AUD = 'http://localhost:3000/cds-services/crs-sentinel';

describe('ensureDemoClient', () => {
  it('generates an ES384 key once (0600) and reuses it', () => {
    const dir = join(tempDir(), 'data');
    const first = ensureDemoClient(dir);
    expect(first.privateKeyPemPath).toBe(join(dir, DEMO_PRIVATE_KEY_FILE));
    expect(statSync(first.privateKeyPemPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.privateKeyPemPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const second = ensureDemoClient(dir);
    expect(second.kid).toBe(first.kid);
    expect(second.client).toEqual(first.client);
    expect(first.client).toEqual({
      iss: DEMO_CLIENT_ISSUER,
      keySource: {
        kind: 'jwks',
        jwks: {
          keys: [
            {
              kty: 'EC',
              crv: 'P-384',
              x: expect.any(String),
              y: expect.any(String),
              kid: first.kid,
              alg: 'ES384',
              use: 'sig',
            },
          ],
        },
      },
      fhirServers: ['http://127.0.0.1:8080/fhir'],
      allowInsecureHttp: true,
    });
  });

  it('takes the sandbox FHIR URL as a parameter and allows http only when one is listed', () => {
    const dir = tempDir();
    const local = ensureDemoClient(dir, { fhirServers: ['http://localhost:9090/fhir/'] });
    expect(local.client.fhirServers).toEqual(['http://localhost:9090/fhir']);
    expect(isFhirServerAllowed(local.client, 'http://localhost:9090/fhir')).toBe(true);
    expect(isFhirServerAllowed(local.client, 'http://127.0.0.1:8080/fhir')).toBe(false);
    const secure = ensureDemoClient(dir, { fhirServers: ['https://sandbox.example.org/fhir'] });
    expect(secure.client.allowInsecureHttp).toBe(false);
    expect(() => ensureDemoClient(dir, { fhirServers: ['not a url'] })).toThrow(/demo FHIR server/);
  });

  it('tightens loose permissions and refuses a key file that is not an EC P-384 key', () => {
    const dir = tempDir();
    const { privateKeyPemPath } = ensureDemoClient(dir);
    chmodSync(privateKeyPemPath, 0o644);
    ensureDemoClient(dir);
    expect(statSync(privateKeyPemPath).mode & 0o777).toBe(0o600);
    writeFileSync(privateKeyPemPath, 'garbage');
    expect(() => ensureDemoClient(dir)).toThrow(/is not a readable private key/);
  });
});

describe('signClientJwt', () => {
  it('signs JWTs the verifier accepts for the demo client', async () => {
    const demo = ensureDemoClient(tempDir());
    const verifier = createClientJwtVerifier({
      clients: [demo.client],
      replayCache: new InMemoryReplayCache(),
    });
    const jwt = signClientJwt({
      privateKeyPem: readFileSync(demo.privateKeyPemPath, 'utf8'),
      kid: demo.kid,
      iss: demo.client.iss,
      aud: AUD,
      extraClaims: { sub: 'demo-user', iss: 'cannot-override' },
    });
    const claims = decodePayload(jwt);
    expect(claims).toEqual({
      sub: 'demo-user',
      iss: DEMO_CLIENT_ISSUER,
      aud: AUD,
      iat: expect.any(Number),
      exp: (claims.iat as number) + 300,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8'))).toEqual({
      alg: 'ES384',
      typ: 'JWT',
      kid: demo.kid,
    });
    expect(await verifier.verify(`Bearer ${jwt}`, AUD)).toEqual({
      ok: true,
      client: demo.client,
      iss: DEMO_CLIENT_ISSUER,
      jti: claims.jti,
    });
  });

  it('gives every JWT a fresh jti', () => {
    const demo = ensureDemoClient(tempDir());
    const pem = readFileSync(demo.privateKeyPemPath, 'utf8');
    const jtis = new Set(
      Array.from(
        { length: 5 },
        () => decodePayload(signClientJwt({ privateKeyPem: pem, kid: demo.kid, iss: 'x', aud: AUD })).jti,
      ),
    );
    expect(jtis.size).toBe(5);
  });
});
