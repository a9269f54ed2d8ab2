/**
 * Text from the patient's record reaches the card's Markdown detail (an O2 device's name, a
 * diagnosis display, a medication's text): whatever it holds, the EHR must show it as text. Named
 * fixture patients are sent with every free-text display and `text` replaced by Markdown and HTML
 * that would fetch an image, show a link or inject HTML if rendered; the card must still say what
 * the manifest expects, and its detail must hold the text only escaped (CommonMark section 2.4).
 */
import type { Bundle } from 'fhir/r4';
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

const HOSTILE =
  '![pixel](https://evil.example/p.png?id=1) [Guideline](https://evil.example/phish) ' +
  '<img src=x onerror=alert(1)> **bold** `code` ~~struck~~ &lt;b&gt;';

/** Pieces of HOSTILE that would render as an image, a link, HTML, a code span or emphasis. */
const UNESCAPED = [
  /(?<!\\)\[pixel/,
  /(?<!\\)\[Guideline/,
  /(?<!\\)<img/,
  /(?<!\\)`code/,
  /(?<!\\)\*\*bold/,
  /(?<!\\)~~struck/,
];

const { manifest, fixtures } = loadAllFixtures(FIXTURE_DIR);

/** The fixture with every display and text that is not the fixture's own meta label replaced. */
function withHostileText(file: string) {
  const fixture = fixtures.find((f) => f.file === file);
  if (!fixture) throw new Error(`fixture ${file} not found`);
  const text = JSON.stringify(rebaseBundle<Bundle>(fixture.bundle, new Date(manifest.anchor), TEST_NOW));
  const meta = /test health data|Constructed fixture|encounter/;
  const hostile = text.replace(/"(text|display)":"([^"]*)"/g, (whole, key: string, value: string) =>
    meta.test(value) ? whole : `"${key}":${JSON.stringify(HOSTILE)}`,
  );
  return { fixture, bundle: JSON.parse(hostile) as Bundle };
}

describe('record text in a card is text, never markup', () => {
  it.each([
    ['an O2 device name', 'cart-crs-diagnosis-waiver-hfnc-grade3.json'],
    ['a sepsis diagnosis display', 'sepsis-hypotension-grade2.json'],
  ])('%s (%s)', async (_what, file) => {
    const { fixture, bundle } = withHostileText(file);
    const res = await request(buildTestApp().app)
      .post('/cds-services/crs-sentinel')
      .send(
        hookRequest({
          context: { userId: 'Practitioner/1', patientId: fixture.patientId },
          prefetch: bundleToPrefetch(bundle),
        }),
      )
      .expect(200);
    const { cards } = res.body as CdsServiceResponse;
    cards.forEach(checkCard);
    expectAnswer(fixture, cards);
    const detail = cards[0]?.detail ?? '';
    // The record's text is there, escaped...
    expect(detail).toContain('\\[Guideline\\](https://evil.example/phish)');
    // ...and nothing of it would render as markup.
    for (const piece of UNESCAPED) expect(detail).not.toMatch(piece);
  });
});
