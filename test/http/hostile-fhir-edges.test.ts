/**
 * A FHIR server that answers badly in the ways hostile-fhir-servers.test.ts (size, endless, gzip
 * bomb, drip, reset, hang) does not cover: refusals with Retry-After, HTML error pages, redirect
 * loops and redirects to another host, broken HTTP framing, huge headers, invalid UTF-8, JSON nested
 * 100,000 deep, a 100,000-entry page, resources of the wrong type or patient, and `next` links
 * that lead elsewhere. Each behaviour has its own base URL on one server on 127.0.0.1; the Patient
 * read answers well and the Observation searches misbehave (batches are refused, so each search
 * is its own GET). Every answer must be 200 or 412 (CDS Hooks 2.0: data that cannot be had), in
 * bounded time, with no stack trace and never the EHR's token; the service stays healthy; another
 * host is never contacted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import { buildTestApp, emptyPrefetch, hookRequest } from '../support/test-app.js';
import { startCountingServer, type CountingServer } from '../trust/helpers.js';

const TOKEN = 'secret-ehr-token-4711';
const FHIR_TIMEOUT_MS = 3000;
const PATIENT = { resourceType: 'Patient', id: 'pat-1', birthDate: '1970-01-01' };
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

const observation = (i: number, subject = 'Patient/pat-1') => ({
  resourceType: 'Observation',
  id: `o${i}`,
  status: 'final',
  subject: { reference: subject },
  code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
  effectiveDateTime: '2025-01-15T11:00:00Z',
  valueQuantity: { value: 37, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
});
const searchset = (resources: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    entry: resources.map((resource) => ({ resource })),
    ...extra,
  });

const DEPTH = 100_000;
/** 100,000 entries in one page, about 31 MB: within the call's 32 MiB budget, made once. */
const HUGE_PAGE = Buffer.from(searchset(Array.from({ length: 100_000 }, (_, i) => observation(i))));

type Behaviour = (req: IncomingMessage, res: ServerResponse, base: string) => void;

const status =
  (code: number, body: string, headers: Record<string, string> = {}): Behaviour =>
  (_req, res) => {
    res.writeHead(code, headers).end(body);
  };
const ok =
  (body: string | Buffer, headers: Record<string, string> = FHIR_JSON): Behaviour =>
  (_req, res) => {
    res.writeHead(200, headers).end(body);
  };
const HTML_PAGE = '<!DOCTYPE html><html><body><h1>Error</h1><pre>at Servlet.service</pre></body></html>';

let elsewhere: CountingServer;

const behaviours: Record<string, Behaviour> = {
  '401': status(401, HTML_PAGE, {
    'content-type': 'text/html',
    'www-authenticate': 'Bearer error="invalid_token"',
  }),
  '403': status(403, HTML_PAGE, { 'content-type': 'text/html' }),
  '404-html': status(404, HTML_PAGE, { 'content-type': 'text/html' }),
  '410': status(410, '{"resourceType":"OperationOutcome"}', FHIR_JSON),
  '429-retry-after': status(429, 'slow down', { 'retry-after': '120' }),
  '503-retry-after': status(503, HTML_PAGE, { 'retry-after': '3600', 'content-type': 'text/html' }),
  'html-200': ok(HTML_PAGE, { 'content-type': 'text/html' }),
  'redirect-loop': (req, res) => {
    res.writeHead(301, { location: req.url ?? '/' }).end();
  },
  'redirect-elsewhere': (req, res) => {
    res.writeHead(307, { location: `${elsewhere.url}${req.url ?? '/'}` }).end();
  },
  'invalid-utf8': (_req, res) => {
    const body = Buffer.from(searchset([{ ...observation(1), note: [{ text: 'xxxx' }] }]));
    body.set([0xff, 0xc3, 0x28, 0xa0], body.indexOf('xxxx'));
    res.writeHead(200, FHIR_JSON).end(body);
  },
  'nested-deep': ok(
    `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"d",` +
      `"status":"final","subject":{"reference":"Patient/pat-1"},"extension":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)},` +
      `"code":${'{"coding":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}}}]}`,
  ),
  // Only the temperature search (vitals) gets the big page: one 31 MB answer fits the budget.
  'page-of-100k': (req, res) => {
    const vitals = (req.url ?? '').includes('8310-5') && !(req.url ?? '').includes('29463-7');
    res.writeHead(200, FHIR_JSON).end(vitals ? HUGE_PAGE : searchset([]));
  },
  // Every Observation search (vitals, labs, weight) gets it: three of them do not.
  'pages-of-100k': ok(HUGE_PAGE),
  'broken-chunks': (_req, res) => {
    res.socket?.write(
      'HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n',
    );
    setTimeout(() => res.socket?.destroy(), 50);
  },
  'huge-header': ok('{}', { ...FHIR_JSON, 'x-padding': 'a'.repeat(200_000) }),
  'gzip-not-gzip': ok('{"resourceType":"Bundle"}', { ...FHIR_JSON, 'content-encoding': 'gzip' }),
  'not-http': (_req, res) => {
    res.socket?.end('SSH-2.0-OpenSSH_9.6\r\n\r\n');
  },
  'short-body': (_req, res) => {
    res.writeHead(200, { ...FHIR_JSON, 'content-length': '5000' });
    res.write('{"resourceType":"Bundle","entry":[');
    setTimeout(() => res.socket?.destroy(), 50);
  },
  'json-null': ok('null'),
  'json-array': ok('[{"resourceType":"Observation"}]'),
  'operation-outcome-200': ok('{"resourceType":"OperationOutcome","issue":[]}'),
  'entry-not-array': ok('{"resourceType":"Bundle","type":"searchset","entry":{"resource":{}}}'),
  'wrong-type-or-patient': ok(
    searchset([PATIENT, { resourceType: 'Basic', id: 'b' }, observation(1, 'Patient/other'), observation(2)]),
  ),
  'next-elsewhere': (_req, res) => {
    res.writeHead(200, FHIR_JSON).end(
      searchset([observation(1)], {
        link: [{ relation: 'next', url: `${elsewhere.url}/fhir/Observation?page=2` }],
      }),
    );
  },
  'next-not-http': (_req, res) => {
    res.writeHead(200, FHIR_JSON).end(
      searchset([observation(1)], {
        link: [
          { relation: 'next', url: 'file:///etc/passwd' },
          { relation: 'next', url: 'javascript:alert(1)' },
        ],
      }),
    );
  },
};

let base = '';
const server = createServer((req, res) => {
  req.resume();
  const [, name = ''] = (req.url ?? '/').split('/');
  const path = req.url ?? '/';
  if (req.method === 'POST') {
    res.writeHead(405, FHIR_JSON).end('{"resourceType":"OperationOutcome","issue":[]}');
  } else if (name === 'medication-403' && path.includes('/Medication?')) {
    res.writeHead(403, FHIR_JSON).end('{"resourceType":"OperationOutcome","issue":[]}');
  } else if (path.includes('/Patient/pat-1')) {
    res.writeHead(200, FHIR_JSON).end(JSON.stringify(PATIENT));
  } else if (!path.includes('/Observation')) {
    res.writeHead(200, FHIR_JSON).end(searchset([]));
  } else {
    (behaviours[name] ?? status(404, ''))(req, res, base);
  }
});
const sockets = new Set<Socket>();
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  elsewhere = await startCountingServer(() => ({
    status: 200,
    body: { resourceType: 'Bundle', type: 'searchset' },
  }));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await elsewhere.close();
});
beforeEach(() => {
  elsewhere.requests = 0;
});

const fhirAuthorization = {
  access_token: TOKEN,
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/*.read',
  subject: 'crs-sentinel',
};

/** The first Observation search to fail names its key (vitals, labs or bodyWeight). */
const refused = (what: string) => new RegExp(`^(vitals|labs|bodyWeight): the FHIR server ${what}$`);

const cases: { name: string; status: 200 | 412; message?: RegExp; withinMs?: number }[] = [
  { name: '401', status: 412, message: refused('refused access \\(HTTP 401\\)') },
  { name: '403', status: 412, message: refused('refused access \\(HTTP 403\\)') },
  { name: '404-html', status: 412, message: refused('answered HTTP 404') },
  { name: '410', status: 412, message: refused('answered HTTP 410') },
  { name: '429-retry-after', status: 412, message: refused('answered HTTP 429') },
  { name: '503-retry-after', status: 412, message: refused('answered HTTP 503') },
  { name: 'html-200', status: 412, message: refused('did not answer with FHIR JSON') },
  { name: 'redirect-loop', status: 412, message: refused('answered with a redirect, which is not followed') },
  {
    name: 'redirect-elsewhere',
    status: 412,
    message: refused('answered with a redirect, which is not followed'),
  },
  { name: 'invalid-utf8', status: 200 },
  { name: 'nested-deep', status: 200 },
  { name: 'page-of-100k', status: 200, withinMs: 15_000 },
  {
    name: 'pages-of-100k',
    status: 412,
    message: /^(vitals|labs|bodyWeight): the FHIR server's answers exceeded 33554432 bytes$/,
  },
  { name: 'broken-chunks', status: 412, message: refused('(broke off its answer|could not be reached)') },
  { name: 'huge-header', status: 412, message: refused('could not be reached') },
  { name: 'gzip-not-gzip', status: 412, message: refused('(broke off its answer|could not be reached)') },
  { name: 'not-http', status: 412, message: refused('could not be reached') },
  { name: 'short-body', status: 412, message: refused('(broke off its answer|could not be reached)') },
  { name: 'json-null', status: 412, message: refused('did not answer with a Bundle') },
  { name: 'json-array', status: 412, message: refused('did not answer with a Bundle') },
  { name: 'operation-outcome-200', status: 412, message: refused('did not answer with a Bundle') },
  { name: 'entry-not-array', status: 412, message: refused('did not answer with a Bundle') },
  { name: 'wrong-type-or-patient', status: 200 },
  { name: 'next-elsewhere', status: 200 },
  { name: 'next-not-http', status: 200 },
];

describe('a FHIR server answering badly: 200 or 412, never a 500, a stack or the token', () => {
  it.each(cases)(
    '$name -> $status',
    async ({ name, status: expected, message, withinMs }) => {
      // A fresh app per case: batch support is remembered per server, and this is each one's first call.
      const { app, deps } = buildTestApp();
      deps.patientView = { ...deps.patientView, fhirTimeoutMs: FHIR_TIMEOUT_MS };
      const started = Date.now();
      const res = await request(app)
        .post('/cds-services/crs-sentinel')
        .send(hookRequest({ fhirServer: `${base}/${name}/fhir`, fhirAuthorization }));
      const elapsed = Date.now() - started;
      expect(res.status).toBe(expected);
      if (expected === 412) {
        expect(Object.keys(res.body as object)).toEqual(['error', 'message']);
        expect((res.body as { message: string }).message).toMatch(message!);
      } else {
        expect(Array.isArray((res.body as CdsServiceResponse).cards)).toBe(true);
      }
      expect(res.text).not.toContain(TOKEN);
      expect(res.text).not.toMatch(/\bat \S+ \(|Servlet|<html/i);
      expect(elapsed).toBeLessThan(withinMs ?? FHIR_TIMEOUT_MS + 2000);
      expect(elsewhere.requests).toBe(0);
      await request(app).get('/healthz').expect(200);
    },
    30_000,
  );
});

describe('a FHIR server that refuses the Medication lookup (a scope without Medication)', () => {
  it('administrations naming their product by reference, not included: 412 naming the refusal', async () => {
    const administrations = searchset([
      {
        resourceType: 'MedicationAdministration',
        id: 'ma-1',
        status: 'completed',
        subject: { reference: 'Patient/pat-1' },
        medicationReference: { reference: 'Medication/m-1' },
        effectiveDateTime: '2025-01-13T10:00:00Z',
      },
    ]);
    const prefetch = {
      ...emptyPrefetch(),
      patient: PATIENT,
      medicationAdministrations: JSON.parse(administrations) as unknown,
    };
    const res = await request(buildTestApp().app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ fhirServer: `${base}/medication-403/fhir`, fhirAuthorization, prefetch }))
      .expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'medications: the FHIR server refused access (HTTP 403)',
    });
  });
});
