/**
 * Feedback bodies an EHR should not send, through the real app onto the real PostgreSQL store
 * (a schema of its own, dropped after; skipped without a server outside CI): control characters
 * in the override Coding (a NUL there was a 500, PostgreSQL refuses it in TEXT), too many items,
 * JSON that is not an object, nesting 100,000 deep, an unknown service id, other methods.
 */
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { openPostgresStore } from '../../src/storage/postgres-store.js';
import { buildTestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL, shouldRunAgainst, uniqueName } from '../support/test-servers.js';

const runPostgres = await shouldRunAgainst('postgres');
const schema = uniqueName('crs_feedback_edges');
const FEEDBACK = '/cds-services/crs-sentinel/feedback';

let store: GovernanceStore;
let app: ReturnType<typeof buildTestApp>['app'];

beforeAll(async () => {
  if (!runPostgres) return;
  store = await openPostgresStore({ url: TEST_DATABASE_URL, schema });
  app = buildTestApp({ feedbackStore: { append: (r) => store.append(r), check: () => store.check() } }).app;
});
afterAll(async () => {
  if (!runPostgres) return;
  await store.close();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const item = {
  card: '9368d37b-283f-44a0-93ea-547cebab93ed',
  outcome: 'overridden',
  overrideReason: { reason: { system: 'https://crs-sentinel.org/override-reason', code: 'other-cause' } },
  outcomeTimestamp: '2025-01-15T11:58:00Z',
};
const withReason = (reason: Record<string, unknown>, userComment?: string) => ({
  feedback: [
    {
      ...item,
      overrideReason: {
        reason: { ...item.overrideReason.reason, ...reason },
        ...(userComment ? { userComment } : {}),
      },
    },
  ],
});
const NO_CONTROL = 'expected text without control characters';

describe.skipIf(!runPostgres)('feedback onto PostgreSQL: 400 naming the field, never a 500', () => {
  it.each([
    [
      'a NUL in the code',
      withReason({ code: 'other\u0000cause' }),
      'feedback.0.overrideReason.reason.code',
      NO_CONTROL,
    ],
    [
      'a NUL in the system',
      withReason({ system: 'https://x.example/\u0000' }),
      'feedback.0.overrideReason.reason.system',
      NO_CONTROL,
    ],
    [
      'a NUL in the display',
      withReason({ display: 'Other\u0000' }),
      'feedback.0.overrideReason.reason.display',
      NO_CONTROL,
    ],
    [
      'an escape character in the display',
      withReason({ display: '\u001b[31mred' }),
      'feedback.0.overrideReason.reason.display',
      NO_CONTROL,
    ],
    [
      'a NUL in the comment',
      withReason({}, 'see\u0000note'),
      'feedback.0.overrideReason.userComment',
      NO_CONTROL,
    ],
    [
      'a NUL in an accepted suggestion id',
      {
        feedback: [
          {
            ...item,
            outcome: 'accepted',
            overrideReason: undefined,
            acceptedSuggestions: [{ id: 's\u0000' }],
          },
        ],
      },
      'feedback.0.acceptedSuggestions.0.id',
      NO_CONTROL,
    ],
    [
      'a code with a tab',
      withReason({ code: 'other\tcause' }),
      'feedback.0.overrideReason.reason.code',
      'expected a FHIR code (no control characters, no leading, trailing or repeated spaces)',
    ],
    [
      'a system with a space',
      withReason({ system: 'https://x.example/a b' }),
      'feedback.0.overrideReason.reason.system',
      'expected a FHIR uri (no whitespace or control characters)',
    ],
    [
      '101 items',
      { feedback: Array.from({ length: 101 }, () => item) },
      'feedback',
      'expected at most 100 item(s)',
    ],
    ['JSON null', null, '(body)', 'expected object, got null'],
    ['a JSON string', 'feedback', '(body)', 'expected object, got string'],
    [
      'an array 100,000 deep',
      `{"feedback":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      'feedback.0',
      'expected object, got array',
    ],
  ])('%s', async (_name, body, field, expected) => {
    const res = await request(app)
      .post(FEEDBACK)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' && body.startsWith('{') ? body : JSON.stringify(body))
      .expect(400);
    expect(res.body).toEqual({ error: 'bad-request', message: `${field}: ${expected}` });
  });

  it.each([
    [
      'a code with single inner spaces, a display with a line break',
      withReason({ code: 'other cause', display: 'Other\r\ncause' }),
    ],
    [
      'a card this service never issued (kept, marked unknown)',
      { feedback: [{ ...item, card: '00000000-0000-4000-8000-00000000beef' }] },
    ],
    [
      'an outcome in year 0000 and one in year 9999',
      {
        feedback: [
          { ...item, outcomeTimestamp: '0000-01-01T00:00:00Z' },
          { ...item, outcomeTimestamp: '9999-12-31T23:59:59.999+14:00' },
        ],
      },
    ],
  ])('%s: 200, stored', async (_name, body) => {
    await request(app).post(FEEDBACK).send(body).expect(200, {});
  });

  it('the store still answers readiness after all of the above', async () => {
    await request(app).get('/readyz').expect(200);
  });
});

describe('feedback paths and methods', () => {
  const { app: plain } = buildTestApp();
  it.each([
    ['GET', FEEDBACK, 405],
    ['PUT', FEEDBACK, 405],
    ['DELETE', FEEDBACK, 405],
    ['POST', '/cds-services/other/feedback', 404],
    ['POST', '/cds-services/crs-sentinel/feedback/..', 404],
    ['POST', '/cds-services/crs-sentinel%2Ffeedback', 404],
    ['POST', '/cds-services/crs-sentinel/feedback%00', 404],
    ['POST', '/cds-services/crs-sentinel/%66eedback', 404],
  ] as const)('%s %s -> %i', async (method, path, status) => {
    const agent = request(plain);
    const verb = method.toLowerCase() as 'get' | 'put' | 'delete' | 'post';
    const res = await agent[verb](path)
      .set('Content-Type', 'application/json')
      .send(method === 'GET' ? undefined : JSON.stringify({ feedback: [item] }))
      .expect(status);
    expect(Object.keys(res.body as object)).toEqual(['error', 'message']);
  });
});
