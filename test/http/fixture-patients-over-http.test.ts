/**
 * Every constructed fixture patient through the whole service over HTTP (supertest): the EHR sends
 * the prefetch it would build from the patient's record (rebased to the test's fixed `now`), and
 * the answer carries the manifest's expected grade, context and indicator; every card passes the
 * CDS Hooks card rules.
 */
import path from 'node:path';
import type { Encounter } from 'fhir/r4';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { checkCard } from '../rules/helpers/check-card.js';
import { expectAnswer } from '../support/expect-fixture-answer.js';
import { buildTestApp, hookRequest, TEST_NOW } from '../support/test-app.js';

const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));

describe('fixture patients over HTTP through prefetch', () => {
  it.each(fixtures.map((f) => [f.file, f] as const))('%s', async (_file, fixture) => {
    const bundle = rebaseBundle(fixture.bundle, new Date(manifest.anchor), TEST_NOW);
    const encounterId = bundle.entry
      ?.map((e) => e.resource)
      .filter((r): r is Encounter => r?.resourceType === 'Encounter')
      .find((r) => r.status === 'in-progress')?.id;
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/cds-services/crs-sentinel')
      .send(
        hookRequest({
          context: {
            userId: 'Practitioner/1',
            patientId: fixture.patientId,
            ...(encounterId ? { encounterId } : {}),
          },
          prefetch: bundleToPrefetch(bundle),
        }),
      )
      .expect(200);
    const body = res.body as CdsServiceResponse;
    expect(Object.keys(body)).toEqual(['cards']);
    body.cards.forEach(checkCard);
    expectAnswer(fixture, body.cards);
  });
});
