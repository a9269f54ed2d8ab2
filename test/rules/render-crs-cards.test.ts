import { fileURLToPath } from 'node:url';
import type { MedicationAdministration, Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadCardTemplates } from '../../src/cards/load-card-templates.js';
import { assessCrs } from '../../src/rules/crs-sentinel/assess-crs.js';
import { DEFAULT_RULE_CONFIG } from '../../src/rules/crs-sentinel/rule-config.js';
import { renderCrsCards } from '../../src/rules/crs-sentinel/render-crs-cards.js';
import {
  admin,
  ago,
  AXI_CEL,
  bp,
  named,
  NOREPINEPHRINE,
  NOW,
  patientData,
  rx,
  spo2,
  temp,
  TOCILIZUMAB,
  weight,
} from './helpers/fhir-builders.js';
import { checkCard } from './helpers/check-card.js';

const templates = loadCardTemplates(fileURLToPath(new URL('../../cards', import.meta.url)));

function render(vitals: Observation[], meds: MedicationAdministration[], encounterId?: string) {
  let n = 0;
  const assessment = assessCrs({
    data: patientData({ vitals, medicationAdministrations: meds }),
    now: NOW,
    rules: DEFAULT_RULE_CONFIG,
    ...(encounterId !== undefined && { encounterId }),
  });
  return { assessment, cards: renderCrsCards(assessment, templates, () => `uuid-${String(++n)}`) };
}

const carT = admin(AXI_CEL, 3 * 24);

describe('renderCrsCards', () => {
  it('grade 2 after axi-cel: the whole card', () => {
    const { cards } = render(
      [temp(39.1, 2, { id: 't' }), bp(84, 50, 1, '85354-9', 'b'), bp(86, 52, 3), weight(70, 48)],
      [carT],
      'enc1',
    );
    const tocilizumabText =
      'tocilizumab 560 mg IV over 1 hour (8 mg/kg, weight 70 kg, max 800 mg); may repeat after 8 h; max 3 doses in 24 h and 4 in total';
    expect(cards).toEqual([
      {
        uuid: 'uuid-1',
        summary:
          'Possible CRS grade 2 (ASTCT): 39.1 °C, SBP 84 mmHg, no SpO2 charted, day 3 after axicabtagene ciloleucel',
        detail: expect.any(String) as string,
        indicator: 'critical',
        source: {
          label: 'crs-sentinel: ASTCT 2019 CRS grading (Lee et al., BBMT 2019)',
          url: 'https://doi.org/10.1016/j.bbmt.2018.12.758',
          topic: {
            system: 'http://hl7.org/fhir/sid/icd-10-cm',
            code: 'D89.839',
            display: 'Cytokine release syndrome, grade unspecified',
          },
        },
        suggestions: [
          {
            label: 'Draft tocilizumab 560 mg IV (8 mg/kg x 70 kg), for review',
            uuid: 'uuid-2',
            isRecommended: false,
            actions: [
              {
                type: 'create',
                description: 'Create a draft (unsigned) tocilizumab order for clinician review',
                resource: {
                  resourceType: 'MedicationRequest',
                  status: 'draft',
                  intent: 'proposal',
                  medicationCodeableConcept: {
                    coding: [
                      {
                        system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
                        code: '612865',
                        display: 'tocilizumab',
                      },
                    ],
                    text: 'tocilizumab',
                  },
                  subject: { reference: 'Patient/p1' },
                  encounter: { reference: 'Encounter/enc1' },
                  reasonCode: [
                    {
                      coding: [
                        {
                          system: 'http://hl7.org/fhir/sid/icd-10-cm',
                          code: 'D89.832',
                          display: 'Cytokine release syndrome, grade 2',
                        },
                      ],
                    },
                  ],
                  dosageInstruction: [
                    {
                      text: tocilizumabText,
                      route: {
                        coding: [
                          {
                            system: 'http://snomed.info/sct',
                            code: '47625008',
                            display: 'Intravenous route',
                          },
                        ],
                      },
                      doseAndRate: [
                        {
                          doseQuantity: {
                            value: 560,
                            unit: 'mg',
                            system: 'http://unitsofmeasure.org',
                            code: 'mg',
                          },
                        },
                      ],
                    },
                  ],
                },
              },
            ],
          },
          {
            label: 'Draft blood cultures, for review',
            uuid: 'uuid-3',
            isRecommended: false,
            actions: [
              {
                type: 'create',
                description: 'Create a draft (unsigned) blood culture request for clinician review',
                resource: {
                  resourceType: 'ServiceRequest',
                  status: 'draft',
                  intent: 'proposal',
                  code: {
                    coding: [
                      {
                        system: 'http://loinc.org',
                        code: '600-7',
                        display: 'Bacteria identified in Blood by Culture',
                      },
                    ],
                    text: 'Blood cultures',
                  },
                  subject: { reference: 'Patient/p1' },
                  encounter: { reference: 'Encounter/enc1' },
                  reasonCode: [
                    {
                      text: 'Infection work-up: hypotension, hypoxia or fever (crs-sentinel, advisory)',
                    },
                  ],
                },
              },
            ],
          },
        ],
        selectionBehavior: 'any',
        overrideReasons: [
          {
            system: 'urn:crs-sentinel:override-reason',
            code: 'fever-other-cause',
            display: 'Fever or hypotension has another cause',
          },
          {
            system: 'urn:crs-sentinel:override-reason',
            code: 'already-managed',
            display: 'Already being managed',
          },
          {
            system: 'urn:crs-sentinel:override-reason',
            code: 'not-relevant',
            display: 'Not relevant for this patient',
          },
        ],
        links: [
          {
            label: 'ASTCT consensus grading for CRS (Lee et al., BBMT 2019)',
            url: 'https://doi.org/10.1016/j.bbmt.2018.12.758',
            type: 'absolute',
          },
          {
            label: 'Yescarta (axicabtagene ciloleucel) prescribing information (DailyMed)',
            url: 'https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=axicabtagene+ciloleucel',
            type: 'absolute',
          },
          {
            label: 'Tocilizumab (Actemra) prescribing information',
            url: 'https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query=tocilizumab',
            type: 'absolute',
          },
        ],
        extension: {
          'org.crs-sentinel.assessment': {
            cardKind: 'crs',
            grade: 2,
            scale: 'ASTCT-2019',
            context: ['car-t'],
            agent: { id: 'axicabtagene-ciloleucel', name: 'axicabtagene ciloleucel', kind: 'car-t' },
            latestDose: ago(72),
            daysSinceDose: 3,
            hoursSinceDose: 72,
            window: 'high-attention',
            hypotensionDomain: 2,
            hypoxiaDomain: 0,
            crsOnset: ago(2),
            ageYears: 60,
            feverPresent: true,
            highestTemperatureCelsius: 39.1,
            lowestSystolicMmHg: 84,
            countedVasopressors: 0,
            oxygenSupport: 'none',
            dataGaps: ['no-spo2'],
            tocilizumab: { dosesIn24h: 0, dosesTotal: 0, draftOffered: true, doseMg: 560, mgPerKg: 8 },
          },
        },
      },
    ]);
    checkCard(cards[0]!);
    const detail = cards[0]!.detail!;
    expect(detail).toContain('| Time (UTC) | Finding | Value | Unit | Source code |');
    expect(detail).toContain(
      `| ${ago(2).slice(0, 10)} ${ago(2).slice(11, 16)}Z | Temperature, highest | 39.1 | °C | LOINC 8310-5 |`,
    );
    expect(detail).toContain('| Systolic BP, lowest | 84 | mmHg | LOINC 8480-6 in 85354-9 |');
    expect(detail).toContain('Infection work-up at every grade');
    expect(detail).toContain('Dexamethasone 10 mg IV every 12-24 h');
    expect(detail).toContain('Advisory only');
  });

  const limitCases: {
    name: string;
    meds: MedicationAdministration[];
    weightKg: number;
    expected: string | undefined;
  }[] = [
    {
      name: 'dose capped at 800 mg for 120 kg',
      meds: [carT],
      weightKg: 120,
      expected: 'Draft tocilizumab 800 mg IV (8 mg/kg x 120 kg), for review',
    },
    {
      name: 'no draft after 3 doses in 24 h',
      meds: [carT, admin(TOCILIZUMAB, 23), admin(TOCILIZUMAB, 15), admin(TOCILIZUMAB, 9)],
      weightKg: 70,
      expected: undefined,
    },
    {
      name: 'no draft after 4 doses in total',
      meds: [
        carT,
        admin(TOCILIZUMAB, 60),
        admin(TOCILIZUMAB, 50),
        admin(TOCILIZUMAB, 40),
        admin(TOCILIZUMAB, 30),
      ],
      weightKg: 70,
      expected: undefined,
    },
    {
      name: 'no draft within 8 h of the last dose',
      meds: [carT, admin(named('Actemra 400 mg'), 5)],
      weightKg: 70,
      expected: undefined,
    },
  ];
  it.each(limitCases)('tocilizumab limits: $name', ({ meds, weightKg, expected }) => {
    const { cards } = render([temp(39.1, 2), bp(84, 50, 1), bp(85, 50, 3), weight(weightKg, 24)], meds);
    checkCard(cards[0]!);
    const labels = (cards[0]!.suggestions ?? []).map((s) => s.label);
    expect(labels).toEqual([
      ...(expected !== undefined ? [expected] : []),
      'Draft blood cultures, for review',
    ]);
  });

  it('vasopressor at grade 3 gives a critical card naming the agent; summary stays under 140', () => {
    const { cards } = render(
      [temp(39.1, 2), bp(72, 40, 1), spo2(88, 1, 10)],
      [admin(rx('2619438', 'Tecvayli'), 20), admin(NOREPINEPHRINE, 3, { status: 'in-progress' })],
    );
    expect(cards.map((c) => [c.indicator, c.summary])).toEqual([
      [
        'critical',
        'Possible CRS grade 3 (ASTCT): 39.1 °C, norepinephrine, SBP 72 mmHg, high-flow O2 (10 L/min), 20 h after teclistamab',
      ],
    ]);
    checkCard(cards[0]!);
    expect(cards[0]!.detail).toContain('Teclistamab has its own CRS management algorithm');
  });

  it('data gap: an info card instead of silence', () => {
    const { cards } = render([], [carT]);
    expect(cards).toEqual([
      {
        uuid: 'uuid-1',
        summary: 'No vital signs in 24 h, day 3 after axicabtagene ciloleucel: CRS cannot be judged',
        detail: expect.stringContaining('Monitoring cannot be judged') as string,
        indicator: 'info',
        source: expect.objectContaining({
          label: 'crs-sentinel: ASTCT 2019 CRS grading (Lee et al., BBMT 2019)',
        }) as object,
        links: expect.any(Array) as unknown[],
        extension: {
          'org.crs-sentinel.data-gap': {
            context: ['car-t'],
            missing: 'vital-signs',
            dataGaps: ['no-vital-signs', 'no-body-weight'],
            agent: { id: 'axicabtagene-ciloleucel', name: 'axicabtagene ciloleucel', kind: 'car-t' },
            latestDose: ago(72),
            daysSinceDose: 3,
            hoursSinceDose: 72,
            window: 'high-attention',
          },
        },
      },
    ]);
    checkCard(cards[0]!);
  });

  it('tocilizumab doses of the episode count; those before the infusion do not', () => {
    const beforeInfusion = [
      admin(TOCILIZUMAB, 30 * 24),
      admin(TOCILIZUMAB, 25 * 24),
      admin(TOCILIZUMAB, 20 * 24),
      admin(TOCILIZUMAB, 10 * 24),
    ];
    const { cards } = render(
      [temp(39.1, 2), bp(84, 50, 1), bp(85, 50, 3), weight(25, 24)],
      [carT, ...beforeInfusion],
    );
    expect((cards[0]!.suggestions ?? []).map((s) => s.label)).toContain(
      'Draft tocilizumab 300 mg IV (12 mg/kg x 25 kg), for review',
    );
  });

  it('no CRS-consistent finding: no card', () => {
    expect(render([temp(37.2, 1), bp(120, 70, 1)], [carT]).cards).toEqual([]);
  });
});
