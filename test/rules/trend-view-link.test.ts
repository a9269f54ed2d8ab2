/**
 * The CRS card's SMART link to the trend view (issue 13): CDS Hooks 2.0 Link type `smart`, the
 * service's launch URL, and appContext with the therapy index dose; only in a therapy window and
 * only when the service has a launch URL. Checked with the card-rule checker.
 */
import { fileURLToPath } from 'node:url';
import type { MedicationAdministration, Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadCardTemplates } from '../../src/cards/load-card-templates.js';
import { assessCrs } from '../../src/rules/crs-sentinel/assess-crs.js';
import { renderCrsCards } from '../../src/rules/crs-sentinel/render-crs-cards.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import { checkCard } from './helpers/check-card.js';
import { admin, ago, AXI_CEL, bp, NOREPINEPHRINE, NOW, patientData, temp } from './helpers/fhir-builders.js';

const templates = loadCardTemplates(fileURLToPath(new URL('../../cards', import.meta.url)));
const LAUNCH_URL = 'https://cds.test.example/app/launch.html';

function cardsFor(vitals: Observation[], meds: MedicationAdministration[], trendViewLaunchUrl?: string) {
  const assessment = assessCrs({
    data: patientData({ vitals, medicationAdministrations: meds }),
    now: NOW,
    rules: DEFAULT_RULE_CONFIG,
  });
  let n = 0;
  return renderCrsCards(assessment, templates, () => `uuid-${String(++n)}`, {
    ...(trendViewLaunchUrl !== undefined && { trendViewLaunchUrl }),
  });
}

const smartLinks = (cards: ReturnType<typeof cardsFor>) =>
  cards.flatMap((c) => (c.links ?? []).filter((l) => l.type === 'smart'));

describe('the trend view link on the card', () => {
  const fever = [temp(39.1, 2), bp(84, 50, 1), bp(86, 52, 3)];
  const cases: {
    name: string;
    vitals: Observation[];
    meds: MedicationAdministration[];
    url?: string;
    expected: { label: string; url: string; type: 'smart'; appContext: string }[];
  }[] = [
    {
      name: 'grade 2 after axi-cel: the link with the infusion as index time',
      vitals: fever,
      meds: [admin(AXI_CEL, 72)],
      url: LAUNCH_URL,
      expected: [
        {
          label: 'Open CRS trend view',
          url: LAUNCH_URL,
          type: 'smart',
          appContext: JSON.stringify({ indexTime: ago(72), agent: 'axicabtagene ciloleucel' }),
        },
      ],
    },
    {
      name: 'data gap in a therapy window: the link too (the course shows where the gap is)',
      vitals: [],
      meds: [admin(AXI_CEL, 72)],
      url: LAUNCH_URL,
      expected: [
        {
          label: 'Open CRS trend view',
          url: LAUNCH_URL,
          type: 'smart',
          appContext: JSON.stringify({ indexTime: ago(72), agent: 'axicabtagene ciloleucel' }),
        },
      ],
    },
    { name: 'no launch URL configured: no link', vitals: fever, meds: [admin(AXI_CEL, 72)], expected: [] },
    {
      name: 'a sepsis card without a therapy: no link (no therapy window to show)',
      vitals: [temp(39.1, 2), bp(78, 40, 1), bp(76, 40, 2)],
      meds: [admin(NOREPINEPHRINE, 2, { status: 'in-progress' })],
      url: LAUNCH_URL,
      expected: [],
    },
  ];
  it.each(cases)('$name', ({ vitals, meds, url, expected }) => {
    const cards = cardsFor(vitals, meds, url);
    expect(smartLinks(cards)).toEqual(expected);
    for (const card of cards) checkCard(card);
  });
});
