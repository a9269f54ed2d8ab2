/**
 * Small constructed bulk exports for the replay tests: times as offsets in hours from T0, written
 * as `<Type>.ndjson` (or `.ndjson.gz`) files in a temporary folder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const T0 = Date.parse('2100-01-01T00:00:00Z');
export const HOUR = 3_600_000;
export const at = (hours: number): string => new Date(T0 + hours * HOUR).toISOString();

const LOINC = 'http://loinc.org';
const VITALS = [
  { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] },
];

type Resource = Record<string, unknown>;

export function vital(
  patient: string,
  id: string,
  code: string,
  value: number,
  unit: string,
  hours: number,
): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: VITALS,
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: at(hours),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  };
}

export const temperature = (p: string, id: string, c: number, h: number) =>
  vital(p, id, '8310-5', c, 'Cel', h);
export const systolic = (p: string, id: string, v: number, h: number) =>
  vital(p, id, '8480-6', v, 'mm[Hg]', h);

export function infusion(
  patient: string,
  id: string,
  text: string,
  fromHours: number,
  toHours: number,
): Resource {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    medicationCodeableConcept: { text },
    subject: { reference: `Patient/${patient}` },
    effectivePeriod: { start: at(fromHours), end: at(toHours) },
    dosage: { rateQuantity: { value: 0.1, unit: 'mcg/kg/min' }, dose: { value: 5, unit: 'mg' } },
  };
}

export function dose(
  patient: string,
  id: string,
  coding: { system: string; code: string },
  hours: number,
): Resource {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    medicationCodeableConcept: { coding: [coding] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: at(hours),
  };
}

export function stay(
  patient: string,
  id: string,
  fromHours: number,
  toHours: number,
  classCode = 'IMP',
): Resource {
  return {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { code: classCode },
    subject: { reference: `Patient/${patient}` },
    period: { start: at(fromHours), end: at(toHours) },
  };
}

export function diagnosis(patient: string, id: string, code: string, recordedHours: number): Resource {
  return {
    resourceType: 'Condition',
    id,
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] },
    subject: { reference: `Patient/${patient}` },
    recordedDate: at(recordedHours),
  };
}

export const person = (id: string): Resource => ({ resourceType: 'Patient', id, birthDate: '2050-01-01' });

export const AXI_CEL = { system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1987402' };

/**
 * Patient `cart`: axi-cel at -48 h, a 24 h stay from 0 h; fever 38.6 °C at 5 h (normal before),
 * SBP 84 at 10 h, norepinephrine 12-20 h. Patient `quiet`: a 10 h stay with normal vitals.
 */
export function cartAndQuietPatients(): Resource[] {
  const out: Resource[] = [
    person('cart'),
    stay('cart', 'enc-cart', 0, 24),
    dose('cart', 'ma-axicel', AXI_CEL, -48),
  ];
  for (let h = 0; h <= 24; h++) {
    out.push(temperature('cart', `t${h}`, h >= 5 && h <= 14 ? 38.6 : 37, h));
    out.push(systolic('cart', `s${h}`, h >= 10 && h <= 16 ? 84 : 118, h));
    out.push(vital('cart', `hr${h}`, '8867-4', 90, '/min', h));
    out.push(vital('cart', `sp${h}`, '59408-5', 97, '%', h));
  }
  out.push(infusion('cart', 'ma-norepi', 'norepinephrine', 12, 20));
  out.push(person('quiet'), stay('quiet', 'enc-quiet', 0, 10));
  for (let h = 0; h <= 10; h++) {
    out.push(temperature('quiet', `qt${h}`, 36.8, h), systolic('quiet', `qs${h}`, 122, h));
    out.push(
      vital('quiet', `qhr${h}`, '8867-4', 70, '/min', h),
      vital('quiet', `qsp${h}`, '59408-5', 98, '%', h),
    );
  }
  return out;
}

/** Writes the resources one file per type (gzip for Observation), plus any extra raw lines. */
export function writeExport(
  resources: readonly Resource[],
  extraLines: Record<string, string[]> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'crs-replay-export-'));
  const byType = new Map<string, string[]>();
  for (const r of resources) {
    const type = r.resourceType as string;
    byType.set(type, [...(byType.get(type) ?? []), JSON.stringify(r)]);
  }
  for (const [file, lines] of Object.entries(extraLines)) {
    const type = file.replace(/\..*$/, '');
    byType.set(type, [...(byType.get(type) ?? []), ...lines]);
  }
  for (const [type, lines] of byType) {
    const text = `${lines.join('\n')}\n`;
    if (type === 'Observation') writeFileSync(join(dir, `${type}.ndjson.gz`), gzipSync(text));
    else writeFileSync(join(dir, `${type}.ndjson`), text);
  }
  return dir;
}
