/**
 * The public CDS Hooks Sandbox as the client (test/support/cds-hooks-sandbox.ts reproduces what its
 * source sends): its real key and issuer registered as docs/registration.md says, its discovery
 * URL typed with and without a trailing slash, its CORS preflights, its hook bodies (a prefetch of
 * only the keys it could fetch, or none) and its feedback bodies, against the real app
 * (createApp) and a FHIR server on 127.0.0.1. Then the attacks a copy of its public key invites:
 * another `jku`, an embedded `jwk`, `x5u`, HMAC with its public key, `alg` none, replay, and the
 * token cut loose from the URL it names.
 */
import { createHmac, sign } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Bundle, FhirResource } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { checkCard } from '../rules/helpers/check-card.js';
import {
  SANDBOX_ISS,
  SANDBOX_JWKS,
  SANDBOX_KID,
  SANDBOX_ORIGIN,
  sandboxClientEntry,
  sandboxFeedbackBodies,
  sandboxHookRequest,
  sandboxJwt,
  signAsSandbox,
} from '../support/cds-hooks-sandbox.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { buildTestApp, TEST_BASE_URL, TEST_NOW } from '../support/test-app.js';
import {
  base64url,
  fakeClock,
  makeEcKey,
  startCountingServer,
  type CountingServer,
} from '../trust/helpers.js';
import { listen } from './signed-test-app.js';

const START_MS = 1_750_000_000_000;
const FIXTURE = 'cart-grade2-hypotension.json';
const SANDBOX_TOKEN = 'sandbox-smart-access-token';

const { manifest, fixtures } = loadAllFixtures(FIXTURE_DIR);
const fixture = fixtures.find((f) => f.file === FIXTURE)!;
const bundle = rebaseBundle<Bundle>(fixture.bundle, new Date(manifest.anchor), TEST_NOW);
const resources = (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));

let fhir: FhirTestServer;
let elsewhere: CountingServer;
let clock: ReturnType<typeof fakeClock>;
let app: ReturnType<typeof buildTestApp>['app'];

beforeAll(async () => {
  fhir = await startFhirTestServer(resources);
  elsewhere = await startCountingServer(() => ({ status: 200, body: SANDBOX_JWKS }));
});
afterAll(async () => {
  await fhir.close();
  await elsewhere.close();
});
beforeEach(() => {
  fhir.requests.length = 0;
  fhir.misbehave.clear();
  elsewhere.requests = 0;
  clock = fakeClock(START_MS);
  const verifier = createClientJwtVerifier({
    clients: validateTrustedClients([sandboxClientEntry([fhir.baseUrl])]),
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    // Pinned keys: nothing may be fetched; a fetch would reach `elsewhere` and be counted.
    keyResolver: createKeyResolver({ now: clock.nowMs }),
    now: clock.now,
  });
  app = buildTestApp({ authenticator: createTrustedRequestAuthenticator(verifier) }).app;
});

const url = (path: string) => `${TEST_BASE_URL}${path}`;
const bearer = (path: string) => `Bearer ${sandboxJwt(url(path), clock.seconds())}`;

/** What the sandbox prefetches when only some of its searches succeed: those keys, no others. */
function partialPrefetch(keys: readonly string[]): Record<string, unknown> {
  const all = bundleToPrefetch(bundle, { fhirServer: fhir.baseUrl }) as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, all[k]]));
}

function hookCall(servicePath: string, body: Record<string, unknown>) {
  return request(app)
    .post(servicePath)
    .set('Origin', SANDBOX_ORIGIN)
    .set('Accept', 'application/json')
    .set('Authorization', bearer(servicePath))
    .send(body);
}

describe.each([
  ['as registered', '/cds-services'],
  ['typed with a trailing slash', '/cds-services/'],
])('the sandbox with its discovery URL %s', (_name, discoveryPath) => {
  // cds-services-reducers.js: `${action.discoveryUrl}/${service.id}`.
  const servicePath = `${discoveryPath}/crs-sentinel`;
  const feedbackPath = `${servicePath}/feedback`;

  it('discovery: 200 with the service, readable from its origin', async () => {
    const res = await request(app)
      .get(discoveryPath)
      .set('Origin', SANDBOX_ORIGIN)
      .set('Accept', 'application/json')
      .set('Authorization', bearer(discoveryPath))
      .expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect((res.body as { services: { id: string }[] }).services.map((s) => s.id)).toEqual(['crs-sentinel']);
  });

  it.each([
    ['GET', discoveryPath],
    ['POST', servicePath],
    ['POST', feedbackPath],
  ])('CORS preflight for %s %s allows Authorization and Content-Type', async (method, path) => {
    const res = await request(app)
      .options(path)
      .set('Origin', SANDBOX_ORIGIN)
      .set('Access-Control-Request-Method', method)
      .set('Access-Control-Request-Headers', 'authorization,content-type')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toContain(method);
    expect(res.headers['access-control-allow-headers']?.toLowerCase().split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type']),
    );
  });

  it('hook call with part of the prefetch: the rest is fetched with its SMART token; a card; feedback 200', async () => {
    const res = await hookCall(
      servicePath,
      sandboxHookRequest({
        fhirServer: fhir.baseUrl,
        patientId: fixture.patientId,
        prefetch: partialPrefetch(['patient', 'vitals']),
        accessToken: { access_token: SANDBOX_TOKEN, expires_in: 3600 },
      }),
    ).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const { cards } = res.body as CdsServiceResponse;
    cards.forEach(checkCard);
    expect(cards).toHaveLength(1);
    expect(fhir.requests.length).toBeGreaterThan(0);
    expect(new Set(fhir.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${SANDBOX_TOKEN}`]));
    expect(res.text).not.toContain(SANDBOX_TOKEN);

    const card = cards[0]!;
    const suggestion = card.suggestions?.[0]?.uuid ?? '7bd4b9a6-0c43-4d53-9b39-2b2e1c4cb2a1';
    for (const body of sandboxFeedbackBodies(card.uuid!, suggestion)) {
      const answer = await request(app)
        .post(feedbackPath)
        .set('Origin', SANDBOX_ORIGIN)
        .set('Content-Type', 'application/json')
        .set('Authorization', bearer(feedbackPath))
        .send(body)
        .expect(200);
      expect(answer.body).toEqual({});
    }
  });
});

describe('the sandbox hook body', () => {
  const servicePath = '/cds-services/crs-sentinel';

  it('no prefetch at all (every search failed) and no SMART token: all fetched, no Authorization sent', async () => {
    await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId }),
    ).expect(200);
    expect(fhir.requests.length).toBeGreaterThan(0);
    expect(fhir.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('null prefetch keys mean no data: nothing fetched for them', async () => {
    const prefetch = { ...partialPrefetch(['patient', 'vitals']), labs: null, conditions: null };
    await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId, prefetch }),
    ).expect(200);
    const paths = fhir.requests.map((r) => r.path);
    expect(paths.some((p) => p.startsWith('/fhir/Condition'))).toBe(false);
    expect(paths.some((p) => p.startsWith('/fhir/Patient'))).toBe(false);
  });

  it('an OperationOutcome for a key (its search failed) is fetched again', async () => {
    fhir.misbehave.set('batch', 'no-batch'); // one GET per key, so the Patient read can be seen
    const prefetch = {
      ...partialPrefetch(['vitals']),
      patient: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] },
    };
    await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId, prefetch }),
    ).expect(200);
    expect(fhir.requests.some((r) => r.path.startsWith(`/fhir/Patient/${fixture.patientId}`))).toBe(true);
  });

  it('a prefetch of another patient than context.patientId gives no card from it', async () => {
    const prefetch = partialPrefetch([
      'patient',
      'vitals',
      'therapyAdministrations',
      'medicationAdministrations',
    ]);
    const res = await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: 'someone-else', prefetch }),
    );
    // The FHIR server has nothing for someone-else either: nothing usable, so 412; never a card.
    expect([200, 412]).toContain(res.status);
    if (res.status === 200) expect((res.body as CdsServiceResponse).cards).toEqual([]);
  });

  it('unknown fields anywhere are ignored', async () => {
    const sent = sandboxHookRequest({
      fhirServer: fhir.baseUrl,
      patientId: fixture.patientId,
      prefetch: partialPrefetch(['patient']),
    });
    const body = {
      ...sent,
      context: { ...(sent.context as Record<string, unknown>), selections: ['x'] },
      extension: { 'org.example.x': 1 },
      somethingNew: [1, 2, 3],
    };
    await hookCall(servicePath, body).expect(200);
  });

  it.each([
    ['hookInstance missing', { hookInstance: undefined }, 'hookInstance: required'],
    ['hookInstance not a UUID', { hookInstance: 'call-1' }, 'hookInstance: expected a UUID'],
    ['hookInstance a number', { hookInstance: 7 }, 'hookInstance: expected string, got number'],
  ])('%s -> 400 naming it', async (_name, change, message) => {
    const body = {
      ...sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId }),
      ...change,
    };
    const res = await hookCall(servicePath, body).expect(400);
    expect(res.body).toEqual({ error: 'bad-request', message });
    expect(fhir.requests).toEqual([]);
  });

  it('fhirServer with a trailing slash and an upper-case scheme and host is the registered server', async () => {
    const shouted = fhir.baseUrl.replace('http://127.0.0.1', 'HTTP://127.0.0.1') + '/';
    await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: shouted, patientId: fixture.patientId }),
    ).expect(200);
    expect(fhir.requests.length).toBeGreaterThan(0);
    expect(fhir.requests.every((r) => r.path.startsWith('/fhir/'))).toBe(true);
  });

  it('fhirServer whose path differs in case is another server: 412, never contacted', async () => {
    const other = fhir.baseUrl.replace(/\/fhir$/, '/FHIR');
    const res = await hookCall(
      servicePath,
      sandboxHookRequest({ fhirServer: other, patientId: fixture.patientId }),
    ).expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'fhirServer is not a FHIR server this client is registered for',
    });
    expect(fhir.requests).toEqual([]);
  });
});

describe("attacks with the sandbox's identity: 401, no detail, nothing fetched", () => {
  const servicePath = '/cds-services/crs-sentinel';
  const body = () => sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId });
  const attacker = makeEcKey(SANDBOX_KID);
  const now = () => clock.seconds();
  const claims = () => ({
    iss: SANDBOX_ISS,
    aud: url(servicePath),
    iat: now(),
    exp: now() + 300,
    jti: 'j-1',
  });
  const signedBy = (key: typeof attacker, header: Record<string, unknown>) => {
    const input = `${base64url({ alg: 'ES384', typ: 'JWT', kid: SANDBOX_KID, ...header })}.${base64url(claims())}`;
    return `${input}.${signSegment(key, input)}`;
  };

  const cases: [string, () => string][] = [
    [
      'jku pointing at another host',
      () => sandboxJwt(url(servicePath), now(), { header: { jku: `${elsewhere.url}/jwks.json` } }),
    ],
    [
      'x5u pointing at another host, signed by another key',
      () => signedBy(attacker, { x5u: `${elsewhere.url}/cert.pem` }),
    ],
    ['an embedded jwk of the signing (attacker) key', () => signedBy(attacker, { jwk: attacker.jwk })],
    ['alg none', () => `${base64url({ alg: 'none', typ: 'JWT', kid: SANDBOX_KID })}.${base64url(claims())}.`],
    [
      'alg NoNe with a signature',
      () => `${base64url({ alg: 'NoNe', kid: SANDBOX_KID })}.${base64url(claims())}.c2ln`,
    ],
    [
      'HS384 with the public JWK as the secret',
      () => hmacWith(JSON.stringify(SANDBOX_JWKS.keys[0]), claims()),
    ],
    ['kid unknown', () => sandboxJwt(url(servicePath), now(), { header: { kid: '../../../dev/null' } })],
    [
      'exp missing (signed by the sandbox key)',
      () => signAsSandbox({ alg: 'ES384', typ: 'JWT', kid: SANDBOX_KID }, { ...claims(), exp: undefined }),
    ],
    ['exp a year away', () => sandboxJwt(url(servicePath), now(), { claims: { exp: now() + 365 * 86400 } })],
    [
      'iat an hour ahead',
      () => sandboxJwt(url(servicePath), now(), { claims: { iat: now() + 3600, exp: now() + 3900 } }),
    ],
    ['aud of discovery', () => sandboxJwt(url('/cds-services'), now())],
    [
      'aud of the service with a doubled slash, on the single-slash URL',
      () => sandboxJwt(url('/cds-services//crs-sentinel'), now()),
    ],
    ['aud on another host', () => sandboxJwt(`https://evil.example${servicePath}`, now())],
  ];

  it.each(cases)('%s', async (_name, token) => {
    const res = await request(app)
      .post(servicePath)
      .set('Authorization', `Bearer ${token()}`)
      .send(body())
      .expect(401);
    expect(res.body).toEqual({ error: 'unauthorized' });
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(elsewhere.requests).toBe(0);
    expect(fhir.requests).toEqual([]);
  });

  it('control: the same hand-made token with its exp is accepted', async () => {
    const token = signAsSandbox({ alg: 'ES384', typ: 'JWT', kid: SANDBOX_KID }, claims());
    await request(app).post(servicePath).set('Authorization', `Bearer ${token}`).send(body()).expect(200);
  });

  it('the same token twice: the second is a replay', async () => {
    const token = sandboxJwt(url(servicePath), now());
    const prefetch = partialPrefetch(['patient']);
    const call = () =>
      request(app)
        .post(servicePath)
        .set('Authorization', `Bearer ${token}`)
        .send(sandboxHookRequest({ fhirServer: fhir.baseUrl, patientId: fixture.patientId, prefetch }));
    await call().expect(200);
    await call().expect(401);
  });

  it('a lower-case `bearer` scheme is the same scheme (RFC 9110 section 11.1)', async () => {
    await request(app)
      .post(servicePath)
      .set('Authorization', `bearer ${sandboxJwt(url(servicePath), now())}`)
      .send(body())
      .expect(200);
  });

  it('two Authorization headers are refused, whichever comes first', async () => {
    const server = await listen(app);
    try {
      const good = `Bearer ${sandboxJwt(url(servicePath), now())}`;
      const forged = `Bearer ${signedBy(attacker, {})}`;
      for (const authorization of [
        [good, forged],
        [forged, good],
      ]) {
        const { status, text } = await rawPost(
          `${server.url}${servicePath}`,
          authorization,
          JSON.stringify(body()),
        );
        expect({ status, text }).toEqual({ status: 401, text: '{"error":"unauthorized"}' });
      }
    } finally {
      await server.close();
    }
  });
});

/** ES384 in JWS form (IEEE P1363 r||s), built by hand so the header can say anything. */
function signSegment(key: ReturnType<typeof makeEcKey>, input: string): string {
  return sign('sha384', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
    'base64url',
  );
}

function hmacWith(secret: string, payload: Record<string, unknown>): string {
  const input = `${base64url({ alg: 'HS384', typ: 'JWT', kid: SANDBOX_KID })}.${base64url(payload)}`;
  return `${input}.${createHmac('sha384', secret).update(input).digest('base64url')}`;
}

/** A POST with several Authorization field lines (node sends one line per array item). */
function rawPost(
  target: string,
  authorization: string[],
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      target,
      {
        method: 'POST',
        // Raw header pairs (node then adds no Host): one field line each, so Authorization twice.
        headers: [
          'host',
          new URL(target).host,
          ...authorization.flatMap((value) => ['authorization', value]),
          'content-type',
          'application/json',
          'content-length',
          String(Buffer.byteLength(body)),
        ],
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
