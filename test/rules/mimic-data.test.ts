/**
 * Real FHIR data (not written by this project) through the engine: the MIMIC-IV demo bundles and
 * the SMART sandbox sample in ../shared/data. Skipped with a message when that folder is absent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadCardTemplates } from '../../src/cards/load-card-templates.js';
import { assessCrs, type CrsAssessment } from '../../src/rules/crs-sentinel/assess-crs.js';
import { medicationEvents } from '../../src/rules/crs-sentinel/medication-events.js';
import type { PatientData } from '../../src/rules/crs-sentinel/patient-data.js';
import { resolveRuleConfig } from '../../src/rules/crs-sentinel/rule-config.js';
import { renderCrsCards } from '../../src/rules/crs-sentinel/render-crs-cards.js';
import { normalizeObservations } from '../../src/rules/crs-sentinel/normalize-observations.js';
import { bundleToPatientData } from '../../src/fixtures/bundle-split.js';
import { SHARED_DATA, sharedDataAvailable } from '../support/shared-data.js';
import { checkCard } from './helpers/check-card.js';

const dataDir = SHARED_DATA;
const hasData = sharedDataAvailable('MIMIC-IV demo and SMART sample tests');
const HOUR = 3_600_000;

const rules = resolveRuleConfig(
  {},
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL('../../config/site-codes/mimic-iv-demo.json', import.meta.url)),
      'utf8',
    ),
  ),
);
const templates = loadCardTemplates(fileURLToPath(new URL('../../cards', import.meta.url)));

function load(relative: string): PatientData {
  return bundleToPatientData(JSON.parse(readFileSync(`${dataDir}/${relative}`, 'utf8')) as Bundle);
}

function vitalTimes(data: PatientData): number[] {
  return data.vitals
    .map((o) => Date.parse(o.effectiveDateTime ?? ''))
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
}

/** Inside the episode: 1 h after the later of the last vital sign and the first vasopressor. */
function episodeNow(data: PatientData): Date {
  const lastVital = vitalTimes(data).pop() ?? 0;
  const farFuture = new Date(lastVital + 365 * 24 * HOUR);
  const firstPressor = medicationEvents(data, farFuture, rules.siteCodes, rules.codes)
    .filter((e) => e.medicationClass === 'vasopressor')
    .map((e) => Date.parse(e.start))
    .filter((t) => t >= lastVital - 24 * HOUR && t <= lastVital + 24 * HOUR)[0];
  return new Date(Math.max(lastVital, firstPressor ?? 0) + HOUR);
}

function run(data: PatientData, now: Date, encounterId?: string) {
  let n = 0;
  const assessment = assessCrs({ data, now, rules, ...(encounterId !== undefined && { encounterId }) });
  const cards = renderCrsCards(assessment, templates, () => `uuid-${String(++n)}`);
  cards.forEach(checkCard);
  return { assessment, cards };
}

/** A fever reading never comes from a °F-labelled value implausible as °F. */
function expectNoImplausibleFever(assessment: CrsAssessment): void {
  const highest = assessment.vitals.fever.highest;
  if (highest?.original) expect(highest.original.value).toBeGreaterThan(77);
  if (assessment.vitals.fever.present) expect(highest?.value).toBeLessThanOrEqual(45);
}

describe.skipIf(!hasData)(
  `MIMIC-IV demo and SMART sample (${hasData ? dataDir : 'skipped: ../shared/data is absent'})`,
  () => {
    it('septic shock dd2bf984: critical sepsis card naming norepinephrine and phenylephrine (ICD-9 diagnoses)', () => {
      const data = load('mimic-iv-demo-fhir/episode-dd2bf984-septic-shock-2133-12-18.json');
      const now = episodeNow(data);
      expect(now.toISOString()).toBe('2133-12-18T23:05:00.000Z');
      const { cards } = run(data, now);
      expect(cards.map((c) => [c.indicator, c.summary])).toEqual([
        ['critical', 'Circulatory failure in a sepsis context: norepinephrine + phenylephrine, SBP 89 mmHg'],
      ]);
      expect(cards[0]!.extension?.['org.crs-sentinel.assessment']).toMatchObject({
        cardKind: 'sepsis-circulation',
        grade: 'none',
        context: ['sepsis'],
        // Norepinephrine and phenylephrine with SIRS before the first antimicrobial is charted.
        sepsisRules: ['diagnosis', 'vasopressor-shock-with-sirs'],
        hypotensionDomain: 4,
        temperatureState: 'hypothermic',
        vasopressors: ['norepinephrine', 'phenylephrine'],
        countedVasopressors: 2,
        tocilizumab: { draftOffered: false },
      });
      expect(cards[0]!.detail).toContain('ICD-9-CM 78552 Septic shock');
      expect(cards[0]!.detail).toContain('mimic-medication-icu 221906');
    });

    it('septic shock 8e77dd0b: critical sepsis card naming norepinephrine and vasopressin; °F-labelled 34.x ignored', () => {
      const data = load('mimic-iv-demo-fhir/episode-8e77dd0b-septic-shock-2140-01-23.json');
      const now = episodeNow(data);
      const { assessment, cards } = run(data, now);
      expect(cards.map((c) => [c.indicator, c.summary])).toEqual([
        ['critical', 'Circulatory failure in a sepsis context: norepinephrine + vasopressin, SBP 70 mmHg'],
      ]);
      expect(cards[0]!.extension?.['org.crs-sentinel.assessment']).toMatchObject({
        cardKind: 'sepsis-circulation',
        grade: 'none',
        context: ['sepsis'],
        vasopressors: ['norepinephrine', 'vasopressin'],
        countedVasopressors: 1,
        lowestSystolicMmHg: 70,
        tocilizumab: { draftOffered: false },
      });
      expect(
        assessment.ignoredReadings.filter((r) => r.reason === 'implausible').map((r) => [r.value, r.unit]),
      ).toEqual([
        [34.2, '[degF]'],
        [34.3, '[degF]'],
        [35.1, '[degF]'],
        [35.5, '[degF]'],
      ]);
      // Piperacillin-tazobactam shows treatment intent; vancomycin with no route may be oral.
      expect(assessment.sepsis?.antibiotics.map((a) => a.name)).toContain('piperacillin/tazobactam');
      expectNoImplausibleFever(assessment);
    });

    it('fever episode e1de99bc: 101.8 °F read as 38.8 °C; sepsis context with fever only gives no card', () => {
      const data = load('mimic-iv-demo-fhir/episode-e1de99bc-fever-abx-2156-04-12.json');
      const { assessment, cards } = run(data, episodeNow(data));
      expect(assessment.vitals.fever.highest?.value).toBe(38.8);
      expect(assessment.vitals.fever.highest?.original).toEqual({ value: 101.8, unit: '[degF]' });
      // No therapy context: no CRS grade; a sepsis context with fever only is no card.
      expect(assessment.grade.grade).toBe('none');
      expect(cards).toEqual([]);
    });

    const wholePatients = hasData
      ? readdirSync(`${dataDir}/mimic-iv-demo-fhir`).filter((f) => /^mimic-.*\.json$/.test(f))
      : [];
    it.each(wholePatients)(
      'whole patient %s: every ED visit runs without error, °F never misread',
      (file) => {
        const data = load(`mimic-iv-demo-fhir/${file}`);
        const byEncounter = new Map<string, number>();
        for (const o of data.vitals) {
          const ref = o.encounter?.reference ?? 'none';
          const t = Date.parse(o.effectiveDateTime ?? '');
          if (!Number.isNaN(t)) byEncounter.set(ref, Math.max(byEncounter.get(ref) ?? 0, t));
        }
        expect(byEncounter.size).toBeGreaterThan(0);
        for (const [ref, last] of byEncounter) {
          const { assessment } = run(data, new Date(last + HOUR), ref.replace('Encounter/', ''));
          expectNoImplausibleFever(assessment);
          expect(assessment.therapy).toEqual([]);
        }
        // Every °F-labelled temperature below 77 (25 °C) is reported as implausible, never a reading.
        const normalized = normalizeObservations(data.vitals, rules.siteCodes, rules.codes);
        for (const r of normalized.readings.filter((x) => x.kind === 'temperature')) {
          expect(r.value).toBeGreaterThanOrEqual(25);
        }
      },
    );

    it('SMART sandbox sample: no card', () => {
      const dir = `${dataDir}/smart-r4-sandbox-sample`;
      const file = readdirSync(dir).find((f) => f.endsWith('.json') && f !== 'MANIFEST.json');
      expect(file).toBeDefined();
      const data = load(`smart-r4-sandbox-sample/${file!}`);
      const last = vitalTimes(data).pop();
      expect(last).toBeDefined();
      const { assessment, cards } = run(data, new Date(last! + HOUR));
      expect(assessment.contexts).toEqual([]);
      expect(cards).toEqual([]);
    });
  },
);
