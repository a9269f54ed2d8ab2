/**
 * A realistic patient for the benchmark: the cart-grade2-hypotension fixture (day 3 after
 * axicabtagene ciloleucel, 39.1 °C, SBP 84 mmHg) rebased to `now`, with a synthetic chart around
 * it: vital-sign sets (temperature, heart rate, respiratory rate, BP panel, SpO2) q2h over the last
 * 48 h and q18h before that, and medication administrations (cefepime since the fever,
 * acetaminophen, acyclovir and levofloxacin prophylaxis) going back a month.
 *
 * Deterministic: the same options give the same Bundle (a seeded PRNG, times relative to `now`).
 * History size grows backwards at constant density, so the data inside the rules' windows (24 h
 * for vitals, 72 h for antibiotics) stays the same whatever the total: what (c) needs to tell
 * "linear in the window" from "linear in the whole history".
 */
import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  FhirResource,
  MedicationAdministration,
  Observation,
  Quantity,
} from 'fhir/r4';
import { loadFixtureBundle, loadFixtureManifest, rebaseBundle } from '../src/fixtures/fixture-manifest.js';
import { defaultFixtureDir } from '../src/sandbox/fixture-sandbox.js';

export const BASE_FIXTURE_FILE = 'cart-grade2-hypotension.json';

export interface SyntheticPatientOptions {
  /** Total Observations in the Bundle, the fixture's own (vitals, weight, labs) included. */
  observations: number;
  /** Total MedicationAdministrations, the fixture's own included. */
  administrations: number;
  /** The time the chart is built around (the service's clock). */
  now: Date;
  seed?: number;
}

export interface SyntheticPatient {
  patientId: string;
  bundle: Bundle;
  /** Counts actually in the Bundle. */
  observations: number;
  administrations: number;
  /** Oldest clinical time in the chart, in days before `now`. */
  historyDays: number;
}

const HOUR = 3_600_000;
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const SNOMED = 'http://snomed.info/sct';
const VITAL_SIGNS_CATEGORY: CodeableConcept[] = [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'vital-signs',
        display: 'Vital Signs',
      },
    ],
  },
];
/** Test data, tagged once per resource (HL7 v3 ActReason HTEST), as the fixtures are. */
const META = { tag: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }] };

/** mulberry32: small, fast, good enough for jittering vital signs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function quantity(value: number, unit: string, code: string): Quantity {
  return { value, unit, system: UCUM, code };
}

function loinc(code: string, display: string): CodeableConcept {
  return { coding: [{ system: LOINC, code, display }] };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Course {
  temp: number;
  hr: number;
  rr: number;
  sbp: number;
  dbp: number;
  spo2: number;
}

/** Febrile but never worse than the fixture's own worst set (39.1 °C, SBP 84, room air). */
function courseAt(hoursAgo: number, random: () => number): Course {
  const jitter = (low: number, high: number) => low + (high - low) * random();
  if (hoursAgo < 18) {
    return {
      temp: round(jitter(37.9, 38.9), 1),
      hr: Math.round(jitter(100, 120)),
      rr: Math.round(jitter(18, 22)),
      sbp: Math.round(jitter(96, 112)),
      dbp: Math.round(jitter(56, 68)),
      spo2: Math.round(jitter(95, 98)),
    };
  }
  return {
    temp: round(jitter(36.4, 37.4), 1),
    hr: Math.round(jitter(66, 90)),
    rr: Math.round(jitter(13, 18)),
    sbp: Math.round(jitter(110, 132)),
    dbp: Math.round(jitter(62, 80)),
    spo2: Math.round(jitter(96, 99)),
  };
}

function vitalSet(
  patientId: string,
  encounterId: string | undefined,
  index: number,
  time: number,
  course: Course,
): Observation[] {
  const base = (kind: string): Omit<Observation, 'code'> => ({
    resourceType: 'Observation',
    id: `${patientId}-bench-${kind}-${String(index).padStart(5, '0')}`,
    meta: META,
    status: 'final',
    category: VITAL_SIGNS_CATEGORY,
    subject: { reference: `Patient/${patientId}` },
    ...(encounterId === undefined ? {} : { encounter: { reference: `Encounter/${encounterId}` } }),
    effectiveDateTime: iso(time),
  });
  return [
    {
      ...base('temp'),
      code: { ...loinc('8310-5', 'Body temperature'), text: 'Temperature' },
      valueQuantity: quantity(course.temp, '°C', 'Cel'),
    },
    {
      ...base('hr'),
      code: { ...loinc('8867-4', 'Heart rate'), text: 'Heart rate' },
      valueQuantity: quantity(course.hr, 'beats/minute', '/min'),
    },
    {
      ...base('rr'),
      code: { ...loinc('9279-1', 'Respiratory rate'), text: 'Respiratory rate' },
      valueQuantity: quantity(course.rr, 'breaths/minute', '/min'),
    },
    {
      ...base('bp'),
      code: {
        ...loinc('85354-9', 'Blood pressure panel with all children optional'),
        text: 'Blood pressure',
      },
      component: [
        {
          code: loinc('8480-6', 'Systolic blood pressure'),
          valueQuantity: quantity(course.sbp, 'mmHg', 'mm[Hg]'),
        },
        {
          code: loinc('8462-4', 'Diastolic blood pressure'),
          valueQuantity: quantity(course.dbp, 'mmHg', 'mm[Hg]'),
        },
      ],
    },
    {
      ...base('spo2'),
      code: {
        ...loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'),
        text: 'SpO2',
      },
      valueQuantity: quantity(course.spo2, '%', '%'),
    },
  ];
}

interface Drug {
  key: string;
  rxnorm: string;
  display: string;
  text: string;
  route: { code: string; display: string };
  dose: Quantity;
}

const IV = { code: '47625008', display: 'Intravenous route' };
const ORAL = { code: '26643006', display: 'Oral route' };
const DRUGS = {
  cefepime: {
    key: 'cefepime',
    rxnorm: '20481',
    display: 'cefepime',
    text: 'Cefepime 2 g IV',
    route: IV,
    dose: quantity(2, 'g', 'g'),
  },
  acetaminophen: {
    key: 'apap',
    rxnorm: '161',
    display: 'acetaminophen',
    text: 'Acetaminophen 650 mg PO',
    route: ORAL,
    dose: quantity(650, 'mg', 'mg'),
  },
  acyclovir: {
    key: 'acyclovir',
    rxnorm: '281',
    display: 'acyclovir',
    text: 'Acyclovir 800 mg PO',
    route: ORAL,
    dose: quantity(800, 'mg', 'mg'),
  },
  levofloxacin: {
    key: 'levofloxacin',
    rxnorm: '82122',
    display: 'levofloxacin',
    text: 'Levofloxacin 500 mg PO',
    route: ORAL,
    dose: quantity(500, 'mg', 'mg'),
  },
} satisfies Record<string, Drug>;

/** Administrations newest first: cefepime q8h since the fever, then a month of prophylaxis. */
function administrationSchedule(count: number): { drug: Drug; hoursAgo: number }[] {
  const events: { drug: Drug; hoursAgo: number }[] = [
    { drug: DRUGS.cefepime, hoursAgo: 7 },
    { drug: DRUGS.cefepime, hoursAgo: 15 },
    { drug: DRUGS.acetaminophen, hoursAgo: 30 },
    { drug: DRUGS.acetaminophen, hoursAgo: 40 },
  ];
  for (let day = 0; events.length < count; day++) {
    events.push({ drug: DRUGS.acyclovir, hoursAgo: 10 + day * 24 });
    events.push({ drug: DRUGS.levofloxacin, hoursAgo: 12 + day * 24 });
    events.push({ drug: DRUGS.acyclovir, hoursAgo: 22 + day * 24 });
  }
  return events.slice(0, count);
}

function administration(
  patientId: string,
  encounterId: string | undefined,
  index: number,
  drug: Drug,
  time: number,
): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    id: `${patientId}-bench-${drug.key}-${String(index).padStart(4, '0')}`,
    meta: META,
    status: 'completed',
    medicationCodeableConcept: {
      coding: [{ system: RXNORM, code: drug.rxnorm, display: drug.display }],
      text: drug.text,
    },
    subject: { reference: `Patient/${patientId}` },
    ...(encounterId === undefined ? {} : { context: { reference: `Encounter/${encounterId}` } }),
    effectiveDateTime: iso(time),
    dosage: { route: { coding: [{ system: SNOMED, ...drug.route }] }, dose: drug.dose },
  };
}

function entryOf(resource: FhirResource): BundleEntry {
  return {
    fullUrl: `urn:uuid:${resource.resourceType}-${resource.id ?? ''}`,
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
  };
}

function clinicalMs(resource: FhirResource): number | undefined {
  const time =
    ('effectiveDateTime' in resource ? resource.effectiveDateTime : undefined) ??
    ('effectivePeriod' in resource ? resource.effectivePeriod?.start : undefined);
  return time === undefined ? undefined : Date.parse(time);
}

/** Builds the synthetic chart around the rebased fixture. */
export function syntheticPatient(options: SyntheticPatientOptions): SyntheticPatient {
  const random = prng(options.seed ?? 20_250_115);
  const dir = defaultFixtureDir();
  const anchor = new Date(loadFixtureManifest(dir).anchor);
  const fixture = rebaseBundle(loadFixtureBundle(dir, BASE_FIXTURE_FILE), anchor, options.now);
  const resources = (fixture.entry ?? []).flatMap((e) =>
    e.resource === undefined ? [] : [e.resource as FhirResource],
  );
  const patient = resources.find((r) => r.resourceType === 'Patient');
  const encounter = resources.find((r) => r.resourceType === 'Encounter');
  if (patient?.id === undefined) throw new Error(`${BASE_FIXTURE_FILE} has no Patient with an id`);
  const patientId = patient.id;
  const fixtureObservations = resources.filter((r) => r.resourceType === 'Observation').length;
  const fixtureAdministrations = resources.filter(
    (r) => r.resourceType === 'MedicationAdministration',
  ).length;
  // Synthetic vitals start just before the fixture's latest set, so its worst values stay the
  // latest and the worst: the card is the fixture's (grade 2) whatever the history size.
  const latestFixtureVital = Math.max(
    ...resources.filter((r) => r.resourceType === 'Observation').map((r) => clinicalMs(r) ?? 0),
  );
  const now = options.now.getTime();
  const start = latestFixtureVital - HOUR;

  const added: FhirResource[] = [];
  let wanted = Math.max(0, options.observations - fixtureObservations);
  let oldest = now;
  for (let index = 0, time = start; wanted > 0; index++) {
    const hoursAgo = (now - time) / HOUR;
    const set = vitalSet(patientId, encounter?.id, index, time, courseAt(hoursAgo, random)).slice(0, wanted);
    added.push(...set);
    wanted -= set.length;
    oldest = time;
    time -= (hoursAgo < 48 ? 2 : 18) * HOUR;
  }
  const schedule = administrationSchedule(Math.max(0, options.administrations - fixtureAdministrations));
  schedule.forEach(({ drug, hoursAgo }, index) => {
    const time = now - hoursAgo * HOUR;
    oldest = Math.min(oldest, time);
    added.push(administration(patientId, encounter?.id, index, drug, time));
  });

  const bundle: Bundle = { ...fixture, entry: [...(fixture.entry ?? []), ...added.map(entryOf)] };
  return {
    patientId,
    bundle,
    observations: fixtureObservations + added.filter((r) => r.resourceType === 'Observation').length,
    administrations:
      fixtureAdministrations + added.filter((r) => r.resourceType === 'MedicationAdministration').length,
    historyDays: round((now - oldest) / (24 * HOUR), 1),
  };
}
