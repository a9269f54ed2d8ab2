import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { PREFETCH_KEYS } from '../../src/cds-hooks/crs-sentinel-service.js';
import { createFileFeedbackStore } from '../../src/feedback/feedback-store.js';
import { buildTestApp, emptyPrefetch, hookRequest } from '../support/test-app.js';

describe('discovery', () => {
  it('lists the one crs-sentinel patient-view service with its prefetch templates', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/cds-services').expect(200).expect('content-type', /json/);
    expect(res.body).toEqual({
      services: [
        {
          hook: 'patient-view',
          id: 'crs-sentinel',
          title: expect.stringContaining('CRS') as unknown,
          description: expect.stringContaining('CAR-T') as unknown,
          usageRequirements: expect.stringContaining('Observation') as unknown,
          prefetch: Object.fromEntries(Object.entries(PREFETCH_KEYS).map(([k, v]) => [k, v.template])),
        },
      ],
    });
  });

  it('uses only CDS Hooks 2.0 prefetch tokens and bounded searches', () => {
    for (const { template } of Object.values(PREFETCH_KEYS)) {
      expect(template.match(/\{\{[^}]+\}\}/g)).toEqual(['{{context.patientId}}']);
      if (template.includes('?')) expect(template).toMatch(/_count=\d+/);
    }
  });
});

describe('bad requests answer with a clear error and no stack', () => {
  const cases: { name: string; body: string; status: number; message: RegExp }[] = [
    { name: 'malformed JSON', body: '{"hook": "patient-view",', status: 400, message: /not valid JSON/ },
    {
      name: 'missing hookInstance',
      body: JSON.stringify({ ...hookRequest(), hookInstance: undefined }),
      status: 400,
      message: /^hookInstance: required/,
    },
    {
      name: 'hookInstance not a UUID',
      body: JSON.stringify(hookRequest({ hookInstance: 'abc' })),
      status: 400,
      message: /^hookInstance:/,
    },
    {
      name: 'missing context.patientId',
      body: JSON.stringify(hookRequest({ context: { userId: 'Practitioner/1' } })),
      status: 400,
      message: /^context\.patientId: required/,
    },
    {
      name: 'missing context.userId',
      body: JSON.stringify(hookRequest({ context: { patientId: 'p' } })),
      status: 400,
      message: /^context\.userId: required/,
    },
    {
      name: 'missing context',
      body: JSON.stringify({ ...hookRequest(), context: undefined }),
      status: 400,
      message: /^context: required/,
    },
    {
      name: 'wrong hook',
      body: JSON.stringify(hookRequest({ hook: 'order-select' })),
      status: 400,
      message: /^hook: this service answers 'patient-view'/,
    },
    {
      name: 'fhirAuthorization without fhirServer',
      body: JSON.stringify(
        hookRequest({
          fhirAuthorization: {
            access_token: 't',
            token_type: 'Bearer',
            expires_in: 300,
            scope: 'patient/*.read',
            subject: 'cds',
          },
        }),
      ),
      status: 400,
      message: /^fhirServer:/,
    },
    { name: 'a JSON array', body: '[]', status: 400, message: /^\(body\)/ },
  ];
  it.each(cases)('$name -> $status', async ({ body, status, message }) => {
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .set('content-type', 'application/json')
      .send(body)
      .expect(status);
    expect(res.body).toEqual({ error: 'bad-request', message: expect.stringMatching(message) as unknown });
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('unknown service id -> 404', async () => {
    const { app } = buildTestApp();
    const res = await request(app).post('/cds-services/no-such-service').send(hookRequest()).expect(404);
    expect(res.body).toEqual({ error: 'not-found', message: 'no CDS service with id "no-such-service"' });
  });

  it('paths are case-sensitive (the JWT audience is the exact path)', async () => {
    const { app } = buildTestApp();
    await request(app).get('/CDS-Services').expect(404);
  });

  it('unknown path -> 404 JSON', async () => {
    const { app } = buildTestApp();
    const res = await request(app).get('/nope').expect(404);
    expect(res.body).toEqual({ error: 'not-found', message: 'no such endpoint' });
  });

  it('a body over the limit -> 413, and the service stays healthy', async () => {
    const { app } = buildTestApp({ bodyLimit: '100kb' });
    const big = JSON.stringify(
      hookRequest({ prefetch: { vitals: { resourceType: 'Bundle', padding: 'x'.repeat(200_000) } } }),
    );
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .set('content-type', 'application/json')
      .send(big)
      .expect(413);
    expect(res.body).toEqual({
      error: 'payload-too-large',
      message: 'request body is larger than this service accepts',
    });
    await request(app).get('/healthz').expect(200, { status: 'ok' });
  });

  it('accepts a realistic multi-megabyte prefetch under the default limit', async () => {
    const { app } = buildTestApp();
    const entries = Array.from({ length: 6000 }, (_, i) => ({
      resource: {
        resourceType: 'Observation',
        id: `o${i}`,
        status: 'final',
        subject: { reference: 'Patient/pat-1' },
        code: { text: 'x'.repeat(300) },
      },
    }));
    const prefetch = {
      ...emptyPrefetch(),
      vitals: { resourceType: 'Bundle', type: 'searchset', entry: entries },
    };
    const body = JSON.stringify(hookRequest({ prefetch }));
    expect(body.length).toBeGreaterThan(2_000_000);
    await request(app)
      .post('/cds-services/crs-sentinel')
      .set('content-type', 'application/json')
      .send(body)
      .expect(200, { cards: [] });
  });
});

describe('412 when the data cannot be had', () => {
  it('no prefetch and no fhirServer', async () => {
    const { app } = buildTestApp();
    const res = await request(app).post('/cds-services/crs-sentinel').send(hookRequest()).expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'prefetch.patient is missing and the request has no fhirServer to fetch it from',
    });
  });

  it('an OperationOutcome in prefetch and no fhirServer', async () => {
    const { app } = buildTestApp();
    const prefetch = { ...emptyPrefetch(), vitals: { resourceType: 'OperationOutcome', issue: [] } };
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ prefetch }))
      .expect(412);
    expect(res.body).toEqual({
      error: 'precondition-failed',
      message: 'prefetch.vitals is an OperationOutcome and the request has no fhirServer to fetch it from',
    });
  });

  it('a prefetch value that is not FHIR', async () => {
    const { app } = buildTestApp();
    const prefetch = { ...emptyPrefetch(), labs: 'yes' };
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ prefetch }))
      .expect(412);
    expect(res.body).toEqual({ error: 'precondition-failed', message: 'prefetch.labs: not a FHIR Bundle' });
  });
});

describe('complete prefetch', () => {
  it('answers with spec-valid JSON: cards only, no null or empty optional fields', async () => {
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(hookRequest({ prefetch: emptyPrefetch() }))
      .expect(200);
    expect(res.body).toEqual({ cards: [] });
  });
});

describe('feedback', () => {
  const feedback = {
    feedback: [
      {
        card: '9368d37b-283f-44a0-93ea-547cebab93ed',
        outcome: 'overridden',
        overrideReason: {
          reason: {
            system: 'https://crs-sentinel.org/override-reason',
            code: 'other-cause',
            display: 'Fever has another cause',
          },
          userComment: 'Patient Jane Doe has a UTI',
        },
        outcomeTimestamp: '2025-01-15T11:58:00Z',
      },
      {
        card: '0b0b0b0b-283f-44a0-93ea-547cebab93ed',
        outcome: 'accepted',
        acceptedSuggestions: [{ id: 'e56e1945-20b3-4393-8503-a1a20fd73152' }],
        outcomeTimestamp: '2025-01-15T11:59:00Z',
      },
    ],
  };

  it('persists each outcome to the append-only file, without the free-text comment', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'crs-feedback-'));
    try {
      const { app } = buildTestApp({ feedbackStore: createFileFeedbackStore(dir) });
      await request(app).post('/cds-services/crs-sentinel/feedback').send(feedback).expect(200, {});
      await request(app)
        .post('/cds-services/crs-sentinel/feedback')
        .send({ feedback: [feedback.feedback[1]] })
        .expect(200, {});
      const lines = (await readFile(path.join(dir, 'feedback.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(lines).toEqual([
        {
          serviceId: 'crs-sentinel',
          card: '9368d37b-283f-44a0-93ea-547cebab93ed',
          outcome: 'overridden',
          overrideReason: {
            system: 'https://crs-sentinel.org/override-reason',
            code: 'other-cause',
            display: 'Fever has another cause',
          },
          hadUserComment: true,
          outcomeTimestamp: '2025-01-15T11:58:00Z',
          receivedAt: '2025-01-15T12:00:00.000Z',
        },
        {
          serviceId: 'crs-sentinel',
          card: '0b0b0b0b-283f-44a0-93ea-547cebab93ed',
          outcome: 'accepted',
          acceptedSuggestions: ['e56e1945-20b3-4393-8503-a1a20fd73152'],
          outcomeTimestamp: '2025-01-15T11:59:00Z',
          receivedAt: '2025-01-15T12:00:00.000Z',
        },
        {
          serviceId: 'crs-sentinel',
          card: '0b0b0b0b-283f-44a0-93ea-547cebab93ed',
          outcome: 'accepted',
          acceptedSuggestions: ['e56e1945-20b3-4393-8503-a1a20fd73152'],
          outcomeTimestamp: '2025-01-15T11:59:00Z',
          receivedAt: '2025-01-15T12:00:00.000Z',
        },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    { name: 'no feedback array', body: {}, message: /^feedback: required/ },
    {
      name: 'bad outcome',
      body: { feedback: [{ ...feedback.feedback[1], outcome: 'maybe' }] },
      message: /^feedback\.0\.outcome:/,
    },
    {
      name: 'bad timestamp',
      body: { feedback: [{ ...feedback.feedback[1], outcomeTimestamp: 'yesterday' }] },
      message: /^feedback\.0\.outcomeTimestamp:/,
    },
  ])('rejects $name with 400', async ({ body, message }) => {
    const { app } = buildTestApp();
    const res = await request(app).post('/cds-services/crs-sentinel/feedback').send(body).expect(400);
    expect(res.body).toEqual({ error: 'bad-request', message: expect.stringMatching(message) as unknown });
  });
});

describe('operations', () => {
  it('liveness and readiness', async () => {
    let accepting = true;
    const { app } = buildTestApp({ isAcceptingWork: () => accepting });
    await request(app).get('/healthz').expect(200, { status: 'ok' });
    await request(app)
      .get('/readyz')
      .expect(200, { status: 'ready', checks: { acceptingWork: true, feedbackStore: true } });
    accepting = false;
    await request(app)
      .get('/readyz')
      .expect(503, { status: 'not-ready', checks: { acceptingWork: false, feedbackStore: true } });
  });

  it('answers a CORS preflight from a browser EHR, allowing Authorization', async () => {
    const { app } = buildTestApp();
    const res = await request(app)
      .options('/cds-services/crs-sentinel')
      .set('Origin', 'https://sandbox.cds-hooks.org')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type')
      .expect(204);
    expect({
      origin: res.headers['access-control-allow-origin'],
      methods: res.headers['access-control-allow-methods'],
      headers: res.headers['access-control-allow-headers'],
    }).toEqual({ origin: '*', methods: 'GET,POST,OPTIONS', headers: 'Authorization,Content-Type' });
  });
});
