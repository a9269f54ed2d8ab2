/**
 * The code lists as FHIR ValueSets (issue 9, section 4): every file of `valuesets/` is a valid
 * ValueSet of a list the rules read, cites its source, and is imported by the core; and every code
 * and name the rules used before the lists moved out of TypeScript is still in the index
 * (codes-before-valuesets.json: the old tables, frozen when they moved), so no code was lost.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import {
  agentsOf,
  buildCodeIndex,
  CODE_LIST_NAMES,
  codeListOf,
  valueSetProblems,
} from '../../src/rules/crs-sentinel/code-index.js';
import {
  BUILT_IN_VALUE_SET_FILES,
  BUILT_IN_VALUE_SETS,
  DEFAULT_CODE_INDEX as codes,
} from '../../src/rules/crs-sentinel/default-value-sets.js';
import type {
  MedicationConcept,
  OxygenSupportClass,
  ReadingKind,
} from '../../src/rules/crs-sentinel/rule-tables.js';
import { normalizeObservations } from '../../src/rules/crs-sentinel/normalize-observations.js';
import { EMPTY_SITE_CODES } from '../../src/rules/crs-sentinel/site-codes.js';
import { parseValueSet, VALUE_SET_BASE } from '../../src/rules/crs-sentinel/value-set.js';

const DIR = path.join(PACKAGE_ROOT, 'valuesets');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

interface Before {
  codes: { list: string; system: string; code: string }[];
  names: { list: string; id: string; names: string[]; concept: MedicationConcept }[];
}
const before = JSON.parse(
  readFileSync(path.join(PACKAGE_ROOT, 'test/rules/codes-before-valuesets.json'), 'utf8'),
) as Before;

describe('valuesets/: one valid FHIR R4 ValueSet per list', () => {
  it('every file is imported by the core, and every list has its file', () => {
    expect(BUILT_IN_VALUE_SET_FILES.map((f) => f.file).sort()).toEqual([...files].sort());
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...CODE_LIST_NAMES].sort());
  });

  const agents = agentsOf(BUILT_IN_VALUE_SETS);
  it.each(files)('%s', (file) => {
    const json: unknown = JSON.parse(readFileSync(path.join(DIR, file), 'utf8'));
    const vs = parseValueSet(json);
    expect(vs.url).toBe(`${VALUE_SET_BASE}${file.replace(/\.json$/, '')}`);
    expect(codeListOf(vs.url)).toBeDefined();
    expect(vs.status).toBe('active');
    expect(vs.description.length).toBeGreaterThan(80); // says what the list is for and cites its source
    expect(valueSetProblems(vs, agents)).toEqual([]);
    expect(json).toEqual(BUILT_IN_VALUE_SET_FILES.find((f) => f.file === file)?.json);
  });
});

describe('every code and name the rules used before is in the index', () => {
  it.each(before.codes.map((c) => [`${c.list} ${c.system}|${c.code}`, c] as const))('%s', (_, c) => {
    const [kind, detail] = c.list.split(':');
    switch (kind) {
      case 'reading':
        expect(codes.readingKind(c.system, c.code)).toBe(detail as ReadingKind);
        return;
      case 'culture':
        expect(codes.has('body-fluid-cultures', c.system, c.code)).toBe(true);
        return;
      case 'panel':
        expect(codes.has('blood-pressure-panels', c.system, c.code)).toBe(true);
        return;
      case 'oxygen-device-observation':
        expect(codes.has('oxygen-delivery-observations', c.system, c.code)).toBe(true);
        return;
      case 'device':
        expect(codes.oxygenDeviceClass(c.system, c.code)).toBe(detail as OxygenSupportClass);
        return;
      case 'sepsis':
        expect(codes.has('sepsis-diagnoses', c.system, c.code)).toBe(true);
        if (detail === 'prefix') expect(codes.has('sepsis-diagnoses', c.system, `${c.code}9`)).toBe(true);
        return;
      case 'cell-therapy':
        expect(codes.cellTherapyDiagnosis(c.system, c.code)).toBe(detail);
        expect(codes.cellTherapyDiagnosis(c.system, `${c.code}1`)).toBe(
          c.list.endsWith(':prefix') ? detail : undefined,
        );
        return;
      case 'route':
        expect(codes.route(c.system, c.code)).toBe(detail);
        return;
      default: {
        const concept = codes.medicationConcept(c.list);
        expect(concept, c.list).toBeDefined();
        expect([
          ...(concept?.rxnorm.map((code) => `http://www.nlm.nih.gov/research/umls/rxnorm|${code}`) ?? []),
          ...(concept?.procedureCodes ?? []).map((p) => `${p.system}|${p.code}`),
        ]).toContain(`${c.system}|${c.code}`);
      }
    }
  });

  it('every agent, in the same order, with the same names, class and meaning', () => {
    expect(codes.medicationConcepts.map((c) => c.id)).toEqual(before.names.map((n) => n.id));
    for (const { concept } of before.names) {
      // `inotropic` is new with the value sets (vasopressors-inotropic.json), checked below.
      const {
        inotropic: _inotropic,
        crsLabelWithoutTocilizumab: _noTocilizumab,
        ...found
      } = codes.medicationConcept(concept.id) ?? {};
      expect(found).toEqual({ procedureCodes: [], ...concept });
    }
  });

  it('flags the strongly inotropic vasopressors, and only them', () => {
    const flagged = codes.medicationConcepts.filter((c) => c.inotropic === true).map((c) => c.id);
    expect(flagged.sort()).toEqual(['dopamine', 'epinephrine']);
  });

  it('shows amphotericin B by its name (not "amphotericin/b")', () => {
    expect(codes.medicationConcept('amphotericin-b')?.name).toBe('amphotericin B');
  });

  it('matches agent names as whole words, case and punctuation ignored', () => {
    expect(codes.nameMatches('vasopressors', 'NOREPINEPHRINE 8 mg/250 mL')).toBe(true);
    expect(codes.nameMatches('vasopressors', 'Levophed drip')).toBe(true);
    expect(codes.nameMatches('vasopressors', 'vasopressin 40 units')).toBe(false);
    expect(codes.nameMatches('antimicrobials-prophylaxis', 'Bactrim DS')).toBe(true);
  });

  it('compares ICD codes without dots and expands is-a filters, on system and code', () => {
    expect(codes.has('sepsis-diagnoses', 'http://hl7.org/fhir/sid/icd-10-cm', 'A41.9')).toBe(true);
    expect(codes.has('sepsis-diagnoses', 'http://hl7.org/fhir/sid/icd-10-cm', 'R65.21')).toBe(true);
    expect(codes.has('sepsis-diagnoses', 'http://hl7.org/fhir/sid/icd-10-cm', 'R65.2')).toBe(false);
    expect(codes.has('sepsis-diagnoses', 'http://hl7.org/fhir/sid/icd-9-cm', 'A41.9')).toBe(false);
    expect(codes.cellTherapyDiagnosis('http://hl7.org/fhir/sid/icd-10-cm', 'D89.832')).toBe('crs');
  });
});

describe('the rules read the lists through the index', () => {
  const SNOMED = 'http://snomed.info/sct';
  const deviceObservation = (coding: { system: string; code: string }): Observation => ({
    resourceType: 'Observation',
    id: 'device-1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '107117-4' }] },
    effectiveDateTime: '2025-01-15T10:00:00Z',
    valueCodeableConcept: { coding: [coding] },
  });

  it('an oxygen device coded only in SNOMED CT (no display, no text) is classified by its code', () => {
    const { devices, ignored } = normalizeObservations(
      [deviceObservation({ system: SNOMED, code: '426854004' })],
      EMPTY_SITE_CODES,
      codes,
    );
    expect(ignored).toEqual([]);
    expect(devices.map((d) => d.supportClass)).toEqual(['high-flow']);
  });

  it("a site's ValueSet adds a local observation code the rules then read", () => {
    const LOCAL = 'urn:oid:1.2.840.99999.3';
    const site = buildCodeIndex([
      ...BUILT_IN_VALUE_SETS,
      parseValueSet({
        resourceType: 'ValueSet',
        url: `${VALUE_SET_BASE}observations-temperature`,
        name: 'SiteTemperature',
        title: 'Site temperature codes',
        status: 'active',
        description: 'The test hospital flowsheet row for core temperature.',
        compose: { include: [{ system: LOCAL, concept: [{ code: 'TCORE' }] }] },
      }),
    ]);
    const temperature: Observation = {
      resourceType: 'Observation',
      id: 't-1',
      status: 'final',
      code: { coding: [{ system: LOCAL, code: 'TCORE' }] },
      effectiveDateTime: '2025-01-15T10:00:00Z',
      valueQuantity: { value: 39.2, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
    };
    expect(normalizeObservations([temperature], EMPTY_SITE_CODES, codes).readings).toEqual([]);
    expect(normalizeObservations([temperature], EMPTY_SITE_CODES, site).readings).toMatchObject([
      { kind: 'temperature', value: 39.2 },
    ]);
  });
});
