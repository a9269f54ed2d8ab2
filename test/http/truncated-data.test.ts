/**
 * A search cut off at its page limit is never read as normal (issue 9, section 2): in a therapy
 * window with no CRS finding, a cut-off search the CRS rules read gives an info data-gap card that
 * names it; a cut-off search the rules never grade by (labs) or outside a therapy window does not.
 */
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import type { PrefetchKeyName } from '../../src/cds-hooks/crs-sentinel-service.js';
import {
  bundleToPrefetch,
  FIXTURE_DIR,
  loadAllFixtures,
  rebaseBundle,
} from '../../src/fixtures/fixture-manifest.js';
import { DATA_GAP_EXTENSION } from '../../src/rules/crs-sentinel/render-crs-cards.js';
import { checkCard } from '../rules/helpers/check-card.js';
import { buildTestApp, hookRequest, TEST_NOW } from '../support/test-app.js';

const { manifest, fixtures } = loadAllFixtures(path.resolve(FIXTURE_DIR));

/** The fixture's prefetch with a `next` link on the given keys: no fhirServer, so it stays unread. */
function cutOffPrefetch(file: string, keys: readonly PrefetchKeyName[]) {
  const fixture = fixtures.find((f) => f.file === file);
  if (!fixture) throw new Error(`fixture ${file} not found`);
  const prefetch = bundleToPrefetch(rebaseBundle(fixture.bundle, new Date(manifest.anchor), TEST_NOW));
  for (const key of keys) {
    const bundle = prefetch[key];
    if (bundle?.resourceType !== 'Bundle') throw new Error(`prefetch ${key} is not a Bundle`);
    bundle.link = [{ relation: 'next', url: `https://ehr.example/fhir/${key}?page=2` }];
  }
  return { patientId: fixture.patientId, prefetch };
}

async function cardsFor(file: string, keys: readonly PrefetchKeyName[], logLines: string[] = []) {
  const { patientId, prefetch } = cutOffPrefetch(file, keys);
  const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
  const { app } = buildTestApp({ logger });
  const res = await request(app)
    .post('/cds-services/crs-sentinel')
    .send(hookRequest({ context: { userId: 'Practitioner/1', patientId }, prefetch }))
    .expect(200);
  const { cards } = res.body as CdsServiceResponse;
  cards.forEach(checkCard);
  return cards;
}

describe('cut-off searches', () => {
  it.each<[string, PrefetchKeyName[], string]>([
    ['vitals', ['vitals'], 'Vital signs not read in full'],
    ['administrations', ['medicationAdministrations'], 'Medication administrations not read in full'],
  ])('therapy window, no finding, %s cut off: info card naming it', async (_name, keys, summary) => {
    const cards = await cardsFor('cart-old-fever-normal-now.json', keys);
    expect(cards).toHaveLength(1);
    const [card] = cards;
    expect(card?.indicator).toBe('info');
    expect(card?.summary).toContain(summary);
    expect(card?.summary).toContain('CRS cannot be ruled out');
    expect(card?.detail).toContain('page limit');
    expect(card?.suggestions).toBeUndefined();
    expect((card?.extension?.[DATA_GAP_EXTENSION] as { missing: string }).missing).toBe('complete-data');
  });

  it('therapy window, no finding, only labs cut off: no card (labs never set the grade)', async () => {
    expect(await cardsFor('cart-old-fever-normal-now.json', ['labs'])).toEqual([]);
  });

  it('no therapy or sepsis context: no card even when vital signs are cut off; the log line says so', async () => {
    const lines: string[] = [];
    expect(await cardsFor('fever-no-context.json', ['vitals'], lines)).toEqual([]);
    const requestLine = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => 'outcome' in l);
    expect(requestLine?.truncated).toEqual(['vitals']);
  });

  it('a graded card still says the search was cut off', async () => {
    const cards = await cardsFor('cart-grade2-hypotension.json', ['vitals']);
    expect(cards[0]?.indicator).toBe('critical');
    expect(cards[0]?.detail).toContain('page limit');
  });
});
