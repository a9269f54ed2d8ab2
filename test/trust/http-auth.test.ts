/**
 * Issue 4, "Done when", at the HTTP level: the real app (createApp) with the real verifier behind
 * the request-authenticator seam. Every refused JWT gets 401 with WWW-Authenticate and no detail,
 * and nothing is fetched; a fhirServer the client is not bound to gets 412 with no request reaching
 * it (listening test servers count what they get); redirects to another host are not followed.
 */
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTrustedRequestAuthenticator } from '../../src/trust/request-authenticator.js';
import { createClientJwtVerifier } from '../../src/trust/verify-client-jwt.js';
import { createKeyResolver } from '../../src/trust/key-resolver.js';
import { InMemoryReplayCache } from '../../src/trust/replay-cache.js';
import { validateTrustedClients } from '../../src/trust/trusted-clients.js';
import { buildTestApp, emptyPrefetch, hookRequest, TEST_BASE_URL } from '../support/test-app.js';
import { startFhirTestServer, type FhirTestServer } from '../support/fhir-test-server.js';
import { fakeClock, makeEcKey, signToken, startCountingServer } from './helpers.js';
import type { CountingServer } from './helpers.js';
import {
  START_MS,
  T,
  acceptedCases,
  clientEntries,
  endpointsOf,
  keys,
  refusedCases,
  remoteJwks,
  tokenFor,
} from './jwt-cases.js';
import type { Endpoint } from './jwt-cases.js';

const e = endpointsOf(TEST_BASE_URL);
const PATHS: Record<Endpoint, string> = {
  discovery: '/cds-services',
  service: '/cds-services/crs-sentinel',
  feedback: '/cds-services/crs-sentinel/feedback',
};
const HTTPS_ONLY = 'https://https-only-ehr.example.org';
const httpsOnlyKey = makeEcKey('https-only-es384');

let fhir: FhirTestServer;
let other: CountingServer;
let redirecting: CountingServer;
let app: ReturnType<typeof buildTestApp>['app'];

const fhirAuthorization = {
  access_token: 'ehr-access-token',
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/*.read',
  subject: 'crs-sentinel',
};

beforeAll(async () => {
  fhir = await startFhirTestServer([{ resourceType: 'Patient', id: 'pat-1', birthDate: '1970-01-01' }]);
  other = await startCountingServer(() => ({
    status: 200,
    body: { resourceType: 'Bundle', type: 'searchset' },
  }));
  redirecting = await startCountingServer((path) => ({
    status: 302,
    headers: { location: `${other.url}${path}` },
  }));
  const clients = validateTrustedClients([
    ...clientEntries([fhir.baseUrl, `${redirecting.url}/fhir`]),
    {
      iss: HTTPS_ONLY,
      jwks: { keys: [httpsOnlyKey.jwk] },
      fhir_servers: [fhir.baseUrl.replace('http:', 'https:')],
    },
  ]);
  const clock = fakeClock(START_MS);
  const verifier = createClientJwtVerifier({
    clients,
    replayCache: new InMemoryReplayCache({ now: clock.nowMs }),
    keyResolver: createKeyResolver({ now: clock.nowMs, fetchJwks: () => Promise.resolve(remoteJwks) }),
    now: clock.now,
  });
  app = buildTestApp({ authenticator: createTrustedRequestAuthenticator(verifier) }).app;
});

afterAll(async () => {
  await fhir.close();
  await other.close();
  await redirecting.close();
});

beforeEach(() => {
  fhir.requests.length = 0;
  other.requests = 0;
  redirecting.requests = 0;
});

const feedbackBody = {
  feedback: [
    {
      card: '9368d37b-283f-44a0-93ea-547cebab93ed',
      outcome: 'overridden',
      outcomeTimestamp: '2025-01-15T12:00:00Z',
    },
  ],
};

function call(endpoint: Endpoint, authorization: string | undefined, body?: Record<string, unknown>) {
  const path = PATHS[endpoint];
  let req = endpoint === 'discovery' ? request(app).get(path) : request(app).post(path);
  if (authorization !== undefined) req = req.set('Authorization', authorization);
  if (endpoint === 'discovery') return req;
  return req.send(
    body ??
      (endpoint === 'feedback' ? feedbackBody : hookRequest({ fhirServer: fhir.baseUrl, fhirAuthorization })),
  );
}

describe('refused JWTs: 401, WWW-Authenticate, no detail, nothing fetched', () => {
  it.each(refusedCases)('$name', async (testCase) => {
    const response = await call(testCase.endpoint ?? 'service', testCase.authorization(e));
    expect({
      status: response.status,
      wwwAuthenticate: response.headers['www-authenticate'],
      body: response.body,
      fhirRequests: fhir.requests.length,
    }).toEqual({
      status: 401,
      wwwAuthenticate: 'Bearer realm="crs-sentinel", error="invalid_token"',
      body: { error: 'unauthorized' },
      fhirRequests: 0,
    });
  });

  it.each(['discovery', 'feedback'] as const)('refuses a call to %s without a JWT', async (endpoint) => {
    const response = await call(endpoint, undefined);
    expect({ status: response.status, body: response.body }).toEqual({
      status: 401,
      body: { error: 'unauthorized' },
    });
  });

  it('refuses a replayed JWT on the second call', async () => {
    const jwt = `Bearer ${tokenFor(e)}`;
    const body = hookRequest({ prefetch: emptyPrefetch() });
    await call('service', jwt, body).expect(200, { cards: [] });
    await call('service', jwt, body).expect(401, { error: 'unauthorized' });
  });
});

describe('accepted JWTs', () => {
  it.each(acceptedCases)('$name', async (testCase) => {
    const endpoint = testCase.endpoint ?? 'service';
    const response = await call(
      endpoint,
      `Bearer ${testCase.jwt(e)}`,
      endpoint === 'service' ? hookRequest({ prefetch: emptyPrefetch() }) : undefined,
    );
    expect(response.status).toBe(200);
  });
});

describe('FHIR server binding: refused with 412 and no request reaching the server', () => {
  const ehrJwt = () => `Bearer ${tokenFor(e)}`;
  const post = (authorization: string, fhirServer: string) =>
    call('service', authorization, hookRequest({ fhirServer, fhirAuthorization }));

  it('calls a listed FHIR server (control)', async () => {
    await post(ehrJwt(), fhir.baseUrl).expect(200);
    expect(fhir.requests.length).toBeGreaterThan(0);
  });

  it('refuses a fhirServer the client is not bound to', async () => {
    const response = await post(ehrJwt(), `${other.url}/fhir`);
    expect({ status: response.status, otherRequests: other.requests }).toEqual({
      status: 412,
      otherRequests: 0,
    });
  });

  it("refuses a bound server of another client (the other issuer's token)", async () => {
    const jwt = `Bearer ${signToken({ key: keys.other, nowSeconds: T, iss: 'https://other-ehr.example.org', aud: e.service })}`;
    const response = await post(jwt, fhir.baseUrl);
    expect({ status: response.status, fhirRequests: fhir.requests.length }).toEqual({
      status: 412,
      fhirRequests: 0,
    });
  });

  it('refuses a look-alike path on the same server', async () => {
    const response = await post(ehrJwt(), `${fhir.baseUrl}evil`);
    expect({ status: response.status, fhirRequests: fhir.requests.length }).toEqual({
      status: 412,
      fhirRequests: 0,
    });
  });

  it('refuses a look-alike host name for the same server', async () => {
    const response = await post(ehrJwt(), fhir.baseUrl.replace('127.0.0.1', 'localhost'));
    expect({ status: response.status, fhirRequests: fhir.requests.length }).toEqual({
      status: 412,
      fhirRequests: 0,
    });
  });

  it('refuses plain http when the client entry does not allow it', async () => {
    const jwt = `Bearer ${signToken({ key: httpsOnlyKey, nowSeconds: T, iss: HTTPS_ONLY, aud: e.service })}`;
    const response = await post(jwt, fhir.baseUrl);
    expect({ status: response.status, fhirRequests: fhir.requests.length }).toEqual({
      status: 412,
      fhirRequests: 0,
    });
  });

  it('does not follow a redirect from a bound server to another host', async () => {
    const response = await post(ehrJwt(), `${redirecting.url}/fhir`);
    expect({
      status: response.status,
      redirectingAnswered: redirecting.requests > 0,
      otherRequests: other.requests,
    }).toEqual({ status: 412, redirectingAnswered: true, otherRequests: 0 });
  });
});
