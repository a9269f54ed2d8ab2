/**
 * Issue 10, "HTTP that says what went wrong": the real app behind the real JWT verifier answers
 * each kind of wrong request with its own status and a `{ error, message }` body that names the
 * field and the check, quotes at most a few dozen characters, and never carries a stack; the
 * request's log line carries the hookInstance and the reason (no values).
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyPrefetch, hookRequest } from '../support/test-app.js';
import { bearerFor, buildSignedApp, listen, requestLines, type Listening } from './signed-test-app.js';

const SERVICE = '/cds-services/crs-sentinel';
const FEEDBACK = '/cds-services/crs-sentinel/feedback';
const HOOK_INSTANCE = 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea';

const validHook = () => hookRequest({ prefetch: emptyPrefetch() });
const post = (app: ReturnType<typeof buildSignedApp>['app'], path = SERVICE) =>
  request(app).post(path).set('Authorization', bearerFor(path));

describe('bodies that are not JSON', () => {
  const { app } = buildSignedApp();

  it.each([
    { name: 'text/plain', type: 'text/plain' },
    { name: 'form-encoded', type: 'application/x-www-form-urlencoded' },
    { name: 'XML', type: 'application/xml' },
  ])('a $name body -> 415 with Accept-Post', async ({ type }) => {
    const res = await post(app).set('Content-Type', type).send(JSON.stringify(validHook())).expect(415);
    expect(res.body).toEqual({
      error: 'unsupported-media-type',
      message: 'request body must be JSON (Content-Type: application/json)',
    });
    expect(res.headers['accept-post']).toBe('application/json');
  });

  it('a body without Content-Type -> 415', async () => {
    const res = await post(app)
      .send(Buffer.from(JSON.stringify(validHook())))
      .unset('Content-Type');
    expect(res.status).toBe(415);
  });

  it('application/fhir+json (a JSON media type) is read as JSON', async () => {
    await post(app)
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(validHook()))
      .expect(200, { cards: [] });
  });

  it('an empty POST -> 400 naming the empty body, whatever its Content-Type', async () => {
    for (const type of [undefined, 'application/json', 'text/plain']) {
      let req = post(app);
      if (type !== undefined) req = req.set('Content-Type', type);
      const res = await req.expect(400);
      expect(res.body).toEqual({
        error: 'bad-request',
        message: 'request body is empty: this endpoint takes a JSON object',
      });
    }
  });

  it('a charset JSON does not use -> 415', async () => {
    const res = await post(app)
      .set('Content-Type', 'application/json; charset=latin1')
      .send(JSON.stringify(validHook()))
      .expect(415);
    expect(res.body.error).toBe('unsupported-media-type');
  });
});

describe('compressed bodies', () => {
  // Raw bytes over fetch: supertest would serialise a Buffer sent as application/json.
  const { app, lines } = buildSignedApp();
  let server: Listening;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(() => server.close());

  const json = () => Buffer.from(JSON.stringify(validHook()));
  const send = (encoding: string, body: Buffer, to: Listening = server) =>
    fetch(`${to.url}${SERVICE}`, {
      method: 'POST',
      body,
      headers: {
        authorization: bearerFor(SERVICE),
        'content-type': 'application/json',
        'content-encoding': encoding,
      },
    });

  it.each([
    { encoding: 'gzip', body: () => gzipSync(json()) },
    { encoding: 'deflate', body: () => deflateSync(json()) },
    { encoding: 'br', body: () => brotliCompressSync(json()) },
  ])('$encoding is inflated and answered', async ({ encoding, body }) => {
    const res = await send(encoding, body());
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 200,
      body: { cards: [] },
    });
  });

  const gz = gzipSync(json());
  it.each([
    { name: 'gzip that is not gzip', encoding: 'gzip', body: Buffer.from('{"hook": "patient-view"}') },
    { name: 'gzip cut short', encoding: 'gzip', body: gz.subarray(0, gz.length - 12) },
    {
      name: 'gzip with a flipped byte',
      encoding: 'gzip',
      body: Buffer.from(gz.map((b, i) => (i === 20 ? b ^ 0xff : b))),
    },
    { name: 'deflate that is not deflate', encoding: 'deflate', body: Buffer.from('xxxxxxxxxxxx') },
    { name: 'brotli that is not brotli', encoding: 'br', body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]) },
  ])('$name -> 400', async ({ encoding, body }) => {
    const res = await send(encoding, body);
    const text = await res.text();
    // A flipped byte may leave inflatable data with a bad checksum, or bad JSON: both are 400s.
    expect(res.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: 'bad-request' });
    expect(text).not.toMatch(/\n\s+at |Error:/);
  });

  it('a corrupt body names the decompression and logs the reason', async () => {
    const res = await send('gzip', Buffer.from('not gzip at all'));
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 400,
      body: {
        error: 'bad-request',
        message: 'request body could not be decompressed (corrupt Content-Encoding)',
      },
    });
    expect(requestLines(lines).at(-1)).toMatchObject({
      status: 400,
      reason: 'body: corrupt compressed content',
    });
  });

  it('an unknown Content-Encoding -> 415 with Accept-Encoding (RFC 9110 section 12.5.3)', async () => {
    const res = await send('compress', json());
    expect(res.status).toBe(415);
    expect(res.headers.get('accept-encoding')).toBe('gzip, deflate, br, identity');
  });

  it('a gzip body that inflates past the limit -> 413', async () => {
    const small = await listen(buildSignedApp({ bodyLimit: '100kb' }).app);
    try {
      const bomb = gzipSync(Buffer.from(JSON.stringify(hookRequest({ padding: 'x'.repeat(5_000_000) }))));
      expect(bomb.length).toBeLessThan(100 * 1024);
      expect((await send('gzip', bomb, small)).status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

describe('methods and paths', () => {
  const { app } = buildSignedApp();

  it.each([
    { method: 'put', path: '/cds-services', allow: 'GET, HEAD, OPTIONS' },
    { method: 'post', path: '/cds-services', allow: 'GET, HEAD, OPTIONS' },
    { method: 'get', path: SERVICE, allow: 'POST, OPTIONS' },
    { method: 'delete', path: SERVICE, allow: 'POST, OPTIONS' },
    { method: 'delete', path: FEEDBACK, allow: 'POST, OPTIONS' },
    { method: 'get', path: FEEDBACK, allow: 'POST, OPTIONS' },
    { method: 'post', path: '/healthz', allow: 'GET, HEAD, OPTIONS' },
    { method: 'patch', path: '/readyz', allow: 'GET, HEAD, OPTIONS' },
  ] as const)('$method $path -> 405 with Allow: $allow', async ({ method, path, allow }) => {
    const res = await request(app)[method](path).expect(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toEqual({
      error: 'method-not-allowed',
      message: `${method.toUpperCase()} is not allowed here; use ${allow}`,
    });
  });

  it('HEAD on a POST-only path -> 405', async () => {
    const res = await request(app).head(SERVICE).expect(405);
    expect(res.headers.allow).toBe('POST, OPTIONS');
  });

  it.each([
    { method: 'get', path: '/cds-services/other-service' },
    { method: 'put', path: '/cds-services/other-service/feedback' },
    { method: 'post', path: '/nope' },
    { method: 'get', path: '/cds-services/crs-sentinel/feedback/extra' },
  ] as const)('$method $path (no such resource) -> 404', async ({ method, path }) => {
    const res = await request(app)[method](path).expect(404);
    expect(res.body.error).toBe('not-found');
  });

  it('an unknown service id is quoted cut short', async () => {
    const id = 'x'.repeat(5000);
    const res = await post(app, `/cds-services/${id}`).send(validHook()).expect(404);
    expect(res.text.length).toBeLessThan(200);
  });
});

describe('malformed percent-escapes in the path: 400 before authentication', () => {
  let server: Server;
  let port: number;
  const { app, lines } = buildSignedApp();

  beforeAll(async () => {
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['GET', '/cds-services/%'],
    ['POST', '/cds-services/%'],
    ['POST', '/cds-services/%E0%A4%A'],
    ['POST', '/cds-services/%E0%A4%A/feedback'],
    ['GET', '/cds-services/%C0%AF'],
    ['DELETE', '/cds-services/%ZZ/feedback'],
    ['GET', '/nope/%'],
    ['GET', '/%'],
  ])('%s %s -> 400', async (method, path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'bad-request',
      message: 'request path is malformed: a percent-escape is incomplete or not UTF-8',
    });
    expect(requestLines(lines).at(-1)).toMatchObject({
      status: 400,
      reason: 'path: malformed percent-escape',
    });
  });

  it('413 at once when Content-Length is over the limit, without waiting for the body', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      // The connection is closed after the answer: the rest of the body is never waited for.
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        `POST ${SERVICE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${bearerFor(SERVICE)}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"hook":',
      );
      // ... and then stalls, sending nothing more.
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain(
      '{"error":"payload-too-large","message":"request body is larger than this service accepts"}',
    );
  });
});

describe('refused before the body is read', () => {
  const { app, lines } = buildSignedApp({ bodyLimit: '1mb' });
  let server: Listening;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(() => server.close());

  it('a 401 for a body within the limit reaches the client and keeps the connection', async () => {
    const body = JSON.stringify(hookRequest({ prefetch: { padding: 'x'.repeat(900_000) } }));
    const res = await fetch(`${server.url}${SERVICE}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer expired-or-garbage' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('connection')).not.toBe('close');
  });

  it('a 401 for a declared body over the limit is answered and the connection closed', async () => {
    const res = await fetch(`${server.url}${SERVICE}`, {
      method: 'POST',
      body: Buffer.alloc(3 * 1024 * 1024, 0x20),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('connection')).toBe('close');
  });

  it('the log line of a 405 and a 415 says why', async () => {
    await request(app).get(SERVICE).expect(405);
    expect(requestLines(lines).at(-1)).toMatchObject({
      status: 405,
      reason: expect.stringMatching(/^GET is not allowed/) as unknown,
    });
    await post(app).set('Content-Type', 'text/plain').send('{}').expect(415);
    expect(requestLines(lines).at(-1)).toMatchObject({
      status: 415,
      reason: 'body: not declared application/json',
    });
  });
});

describe('validation messages say what was expected, never echo values', () => {
  const { app, lines } = buildSignedApp();
  const context = { userId: 'Practitioner/example', patientId: 'pat-1' };

  it.each([
    {
      body: hookRequest({ context: { ...context, patientId: 5 } }),
      message: 'context.patientId: expected string, got number',
    },
    {
      body: hookRequest({ context: { ...context, patientId: null } }),
      message: 'context.patientId: expected string, got null',
    },
    { body: hookRequest({ context: { userId: 'Practitioner/1' } }), message: 'context.patientId: required' },
    {
      body: hookRequest({ context: { ...context, patientId: 'a b' } }),
      message: 'context.patientId: expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .)',
    },
    {
      body: hookRequest({ context: { ...context, patientId: 'p'.repeat(65) } }),
      message: 'context.patientId: expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .)',
    },
    {
      body: hookRequest({ context: { ...context, patientId: '' } }),
      message: 'context.patientId: expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .)',
    },
    {
      body: hookRequest({ context: { ...context, encounterId: 'e/1' } }),
      message: 'context.encounterId: expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .)',
    },
    {
      body: hookRequest({ context: { ...context, userId: 7 } }),
      message: 'context.userId: expected string, got number',
    },
    { body: hookRequest({ context: [] }), message: 'context: expected object, got array' },
    { body: hookRequest({ hookInstance: 'abc' }), message: 'hookInstance: expected a UUID' },
    {
      body: hookRequest({ hookInstance: { toString: 'x' } }),
      message: 'hookInstance: expected string, got object',
    },
    {
      body: hookRequest({ fhirServer: 'ftp://ehr.example.org' }),
      message: 'fhirServer: expected an http or https URL',
    },
    { body: hookRequest({ prefetch: [] }), message: 'prefetch: expected record, got array' },
    {
      body: hookRequest({
        fhirAuthorization: { access_token: 't', token_type: 'MAC', expires_in: 1, scope: 's', subject: 's' },
      }),
      message: "fhirAuthorization.token_type: expected 'Bearer'",
    },
    {
      body: hookRequest({ hook: 'order-select' }),
      message: 'hook: this service answers \'patient-view\', not "order-select"',
    },
    { body: 'x', message: '(body): expected object, got string' },
    { body: 42, message: '(body): expected object, got number' },
    { body: null, message: '(body): expected object, got null' },
    { body: [], message: '(body): expected object, got array' },
  ])('$message', async ({ body, message }) => {
    const res = await post(app).set('Content-Type', 'application/json').send(JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad-request', message });
  });

  it.each([
    ['context.patientId', { ...context, patientId: 'ab\\ud800cd' }],
    ['context.patientId', { ...context, patientId: '\\udc00' }],
    ['context.userId', { ...context, userId: 'Practitioner/\\ud83d' }],
    ['context.encounterId', { ...context, encounterId: 'enc\\udfff' }],
  ])('a lone surrogate in %s -> 400 naming the field', async (field, ctx) => {
    // JSON.stringify would escape nothing here: the `\ud800` escapes are written into the JSON text.
    const text = JSON.stringify(hookRequest({ context: ctx, prefetch: emptyPrefetch() })).replaceAll(
      '\\\\u',
      '\\u',
    );
    const res = await post(app).set('Content-Type', 'application/json').send(text).expect(400);
    expect(res.body.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: expected`));
  });

  it('a 1 MiB value is never echoed: at most ~40 characters of input in the answer', async () => {
    const huge = 'A'.repeat(1024 * 1024);
    for (const body of [
      hookRequest({ hook: huge }),
      hookRequest({ hookInstance: huge }),
      hookRequest({ context: { ...context, patientId: huge } }),
      hookRequest({ fhirServer: huge }),
    ]) {
      const res = await post(app).send(body).expect(400);
      expect(res.text.length).toBeLessThan(250);
      expect(res.text).not.toContain('A'.repeat(41));
    }
  });

  it('logs the hookInstance of a failing request and the reason, without the value', async () => {
    await post(app)
      .send(hookRequest({ context: { ...context, patientId: 12345 } }))
      .expect(400);
    const line = requestLines(lines).at(-1);
    expect(line).toMatchObject({
      status: 400,
      hookInstance: HOOK_INSTANCE,
      reason: 'context.patientId: expected string, got number',
    });
    expect(JSON.stringify(line)).not.toContain('12345');
  });

  it('logs no hookInstance that does not look like one, and no value of a wrong hook', async () => {
    await post(app)
      .send(hookRequest({ hookInstance: 'Jane Doe', hook: 'Jane Doe' }))
      .expect(400);
    const line = requestLines(lines).at(-1);
    expect(line?.hookInstance).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('Jane');
  });

  it('the wrong-hook reason names the expected hook, not the one sent', async () => {
    await post(app)
      .send(hookRequest({ hook: 'Jane Doe' }))
      .expect(400);
    const line = requestLines(lines).at(-1);
    expect(line).toMatchObject({ hookInstance: HOOK_INSTANCE, reason: "hook: expected 'patient-view'" });
    expect(JSON.stringify(line)).not.toContain('Jane');
  });
});

describe('feedback validation', () => {
  const { app } = buildSignedApp();
  const item = {
    card: '9368d37b-283f-44a0-93ea-547cebab93ed',
    outcome: 'overridden',
    overrideReason: { reason: { system: 'https://crs-sentinel.org/override-reason', code: 'other-cause' } },
    outcomeTimestamp: '2025-01-15T11:58:00Z',
  };

  it.each([
    {
      body: { feedback: [{ ...item, outcome: 'maybe' }] },
      message: "feedback.0.outcome: expected one of 'accepted', 'overridden'",
    },
    { body: { feedback: [{ ...item, card: 'card-1' }] }, message: 'feedback.0.card: expected a UUID' },
    { body: { feedback: [{ ...item, card: 42 }] }, message: 'feedback.0.card: expected string, got number' },
    {
      body: { feedback: [{ ...item, outcomeTimestamp: 'yesterday' }] },
      message:
        'feedback.0.outcomeTimestamp: expected an ISO 8601 date-time with a time zone, e.g. 2025-01-15T11:58:00Z',
    },
    {
      body: { feedback: [{ ...item, outcomeTimestamp: '2025-01-15T11:58:00' }] },
      message:
        'feedback.0.outcomeTimestamp: expected an ISO 8601 date-time with a time zone, e.g. 2025-01-15T11:58:00Z',
    },
    {
      body: { feedback: [{ ...item, overrideReason: { reason: { code: 3 } } }] },
      message: 'feedback.0.overrideReason.reason.code: expected string, got number',
    },
    {
      body: { feedback: [{ ...item, overrideReason: { reason: 'other-cause' } }] },
      message: 'feedback.0.overrideReason.reason: expected object, got string',
    },
    {
      body: {
        feedback: [{ ...item, acceptedSuggestions: [{ id: 'e56e1945-20b3-4393-8503-a1a20fd73152' }] }],
      },
      message: 'feedback.0.acceptedSuggestions: expected only with outcome "accepted"',
    },
    { body: { feedback: [] }, message: 'feedback: expected at least 1 item(s)' },
    { body: { feedback: {} }, message: 'feedback: expected array, got object' },
    { body: {}, message: 'feedback: required' },
  ])('$message', async ({ body, message }) => {
    const res = await post(app, FEEDBACK).send(body).expect(400);
    expect(res.body).toEqual({ error: 'bad-request', message });
  });

  it('accepts a valid outcome', async () => {
    await post(app, FEEDBACK)
      .send({ feedback: [item] })
      .expect(200, {});
  });
});

describe('an unhandled error', () => {
  it('answers 500 without internals and logs name, cut message and request id', async () => {
    const { deps } = buildSignedApp();
    const failing = buildSignedApp({
      patientView: {
        ...deps.patientView,
        now: () => {
          throw new TypeError(`clock broke: ${'x'.repeat(1000)}`);
        },
      },
    });
    const res = await post(failing.app).set('X-Request-Id', 'req-42').send(validHook()).expect(500);
    expect(res.body).toEqual({ error: 'internal', message: 'internal error' });
    const unhandled = failing.lines.find((line) => line.msg === 'unhandled error');
    expect(unhandled).toMatchObject({ reqId: 'req-42', errorName: 'TypeError' });
    expect(String(unhandled?.errorMessage)).toMatch(/^clock broke: x+$/);
    expect(String(unhandled?.errorMessage).length).toBe(200);
    expect(requestLines(failing.lines).at(-1)).toMatchObject({
      reqId: 'req-42',
      status: 500,
      hookInstance: HOOK_INSTANCE,
      errorName: 'TypeError',
    });
  });
});

describe('__proto__ in a body changes nothing', () => {
  const { app } = buildSignedApp();
  const withProto = (json: string, at: string) =>
    json.replace(
      at,
      `${at}"__proto__":{"patientId":"other","vitals":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation"}}]}},`,
    );

  it.each([
    ['the body', '{'],
    ['context', '"context":{'],
    ['prefetch', '"prefetch":{'],
  ])('in %s', async (_where, at) => {
    const plain = JSON.stringify(validHook());
    const expected = await post(app).set('Content-Type', 'application/json').send(plain);
    const res = await post(app).set('Content-Type', 'application/json').send(withProto(plain, at));
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: expected.status,
      body: expected.body as unknown,
    });
    expect(res.status).toBe(200);
  });
});
