/**
 * Sepsis context: (1) a sepsis / septic-shock diagnosis that belongs to the present illness, or
 * (2) systemic antibiotics in the last 72 h together with SIRS (>= 2 criteria) or qSOFA (>= 2)
 * physiology in the recent window. [SEPSIS3] for qSOFA and shock; SIRS per Bone 1992 as quoted in
 * Sepsis-3. The windows are [DESIGN] and configurable.
 */
import type { Condition, Encounter } from 'fhir/r4';
import {
  canonicalSystem,
  codingsOf,
  DAY_MS,
  HOUR_MS,
  parseFhirTime,
  periodBounds,
  referenceId,
} from './fhir-values.js';
import { overlaps, type MedicationEvent } from './medication-events.js';
import type { Reading } from './normalize-observations.js';
import type { CrsRuleConfig } from './rule-config.js';
import { EXCLUDED_VERIFICATION_STATUSES, SEPSIS_DIAGNOSIS_CODES } from './rule-tables.js';
import type { SiteCodes } from './site-codes.js';

export type SepsisRule = 'diagnosis' | 'antibiotics-with-sirs' | 'antibiotics-with-qsofa';

export interface SepsisDiagnosis {
  system: string;
  code: string;
  display?: string;
  conditionId?: string;
  /** Why it counts as present illness. */
  basis: 'onset' | 'recorded' | 'hook-encounter' | 'active-encounter';
}

export interface SepsisContext {
  rulesFired: SepsisRule[];
  diagnoses: SepsisDiagnosis[];
  antibiotics: { id: string; name: string; lastGiven: string }[];
  /** Criteria met in the recent window, as text ("RR 24/min > 20"). */
  sirsCriteria: string[];
  qsofaCriteria: string[];
}

export interface SepsisInput {
  conditions: readonly Condition[];
  encounters: readonly Encounter[];
  events: readonly MedicationEvent[];
  /** Readings in the recent window. */
  recent: readonly Reading[];
  now: Date;
  encounterId?: string;
  rules: CrsRuleConfig;
}

export function findSepsisContext(input: SepsisInput): SepsisContext | undefined {
  const diagnoses = presentSepsisDiagnoses(input);
  const antibiotics = recentAntibiotics(input);
  const sirsCriteria = sirsMet(input.recent, input.rules);
  const qsofaCriteria = qsofaMet(input.recent, input.rules);
  const rulesFired: SepsisRule[] = [];
  if (diagnoses.length) rulesFired.push('diagnosis');
  if (antibiotics.length && sirsCriteria.length >= 2) rulesFired.push('antibiotics-with-sirs');
  if (antibiotics.length && qsofaCriteria.length >= 2) rulesFired.push('antibiotics-with-qsofa');
  if (!rulesFired.length) return undefined;
  return { rulesFired, diagnoses, antibiotics, sirsCriteria, qsofaCriteria };
}

function presentSepsisDiagnoses(input: SepsisInput): SepsisDiagnosis[] {
  const nowMs = input.now.getTime();
  const fromMs = nowMs - input.rules.sepsis.diagnosisLookbackDays * DAY_MS;
  const result: SepsisDiagnosis[] = [];
  for (const condition of input.conditions) {
    const coding = sepsisCoding(condition, input.rules.siteCodes);
    if (!coding || isRuledOut(condition)) continue;
    const basis = presentIllnessBasis(condition, input, fromMs, nowMs);
    if (!basis) continue;
    result.push({
      system: coding.system,
      code: coding.code,
      ...(coding.display !== undefined && { display: coding.display }),
      ...(condition.id !== undefined && { conditionId: condition.id }),
      basis,
    });
  }
  return result;
}

function sepsisCoding(
  condition: Condition,
  siteCodes: SiteCodes,
): { system: string; code: string; display?: string } | undefined {
  for (const c of codingsOf(condition.code)) {
    const system = canonicalSystem(c.system, siteCodes);
    if (system === undefined || c.code === undefined) continue;
    const bare = c.code.replace(/\./g, '').toUpperCase();
    const hit = SEPSIS_DIAGNOSIS_CODES.some(
      (s) => s.system === system && (s.prefix ? bare.startsWith(s.code) : bare === s.code),
    );
    if (hit) return { system, code: c.code, ...(c.display !== undefined && { display: c.display }) };
  }
  return undefined;
}

function isRuledOut(condition: Condition): boolean {
  const verification = codingsOf(condition.verificationStatus).map((c) => c.code);
  const clinical = codingsOf(condition.clinicalStatus).map((c) => c.code);
  return (
    verification.some((v) => v !== undefined && EXCLUDED_VERIFICATION_STATUSES.includes(v)) ||
    clinical.some((c) => c === 'resolved' || c === 'inactive' || c === 'remission')
  );
}

function presentIllnessBasis(
  condition: Condition,
  input: SepsisInput,
  fromMs: number,
  nowMs: number,
): SepsisDiagnosis['basis'] | undefined {
  const onset = parseFhirTime(condition.onsetDateTime ?? condition.onsetPeriod?.start);
  const recorded = parseFhirTime(condition.recordedDate);
  if (onset !== undefined || recorded !== undefined) {
    if (onset !== undefined && onset >= fromMs && onset <= nowMs) return 'onset';
    if (recorded !== undefined && recorded >= fromMs && recorded <= nowMs) return 'recorded';
    return undefined;
  }
  const encounterRef = referenceId(condition.encounter?.reference);
  if (encounterRef === undefined) return undefined;
  if (input.encounterId !== undefined && encounterRef === referenceId(input.encounterId))
    return 'hook-encounter';
  const encounter = input.encounters.find((e) => e.id === encounterRef);
  if (!encounter) return undefined;
  const { start, end } = periodBounds(encounter.period);
  if (start === undefined || start > nowMs) return undefined;
  return end === undefined || end >= fromMs ? 'active-encounter' : undefined;
}

function recentAntibiotics(input: SepsisInput): SepsisContext['antibiotics'] {
  const nowMs = input.now.getTime();
  const fromMs = nowMs - input.rules.sepsis.antibioticLookbackHours * HOUR_MS;
  const latest = new Map<string, { id: string; name: string; lastGiven: string }>();
  for (const e of input.events) {
    if (e.medicationClass !== 'antibiotic' || !overlaps(e, fromMs, nowMs)) continue;
    const given = e.end !== undefined && Date.parse(e.end) <= nowMs ? e.end : e.start;
    const previous = latest.get(e.conceptId);
    if (!previous || given > previous.lastGiven)
      latest.set(e.conceptId, { id: e.conceptId, name: e.name, lastGiven: given });
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function extreme(
  readings: readonly Reading[],
  kind: Reading['kind'],
  pick: 'max' | 'min',
): number | undefined {
  const values = readings.filter((r) => r.kind === kind).map((r) => r.value);
  if (!values.length) return undefined;
  return pick === 'max' ? Math.max(...values) : Math.min(...values);
}

/** SIRS criteria met by the worst value of each in the window. */
export function sirsMet(recent: readonly Reading[], rules: CrsRuleConfig): string[] {
  const s = rules.sirs;
  const met: string[] = [];
  const tMax = extreme(recent, 'temperature', 'max');
  const tMin = extreme(recent, 'temperature', 'min');
  if (tMax !== undefined && tMax > s.tempAbove) met.push(`temperature ${tMax} °C > ${s.tempAbove}`);
  else if (tMin !== undefined && tMin < s.tempBelow) met.push(`temperature ${tMin} °C < ${s.tempBelow}`);
  const hr = extreme(recent, 'heart-rate', 'max');
  if (hr !== undefined && hr > s.heartRateAbove) met.push(`heart rate ${hr}/min > ${s.heartRateAbove}`);
  const rr = extreme(recent, 'respiratory-rate', 'max');
  if (rr !== undefined && rr > s.respRateAbove) met.push(`respiratory rate ${rr}/min > ${s.respRateAbove}`);
  const wMax = extreme(recent, 'wbc', 'max');
  const wMin = extreme(recent, 'wbc', 'min');
  if (wMax !== undefined && wMax > s.wbcAbove) met.push(`WBC ${wMax} ×10⁹/L > ${s.wbcAbove}`);
  else if (wMin !== undefined && wMin < s.wbcBelow) met.push(`WBC ${wMin} ×10⁹/L < ${s.wbcBelow}`);
  return met;
}

/** qSOFA criteria met by the worst value of each in the window. */
export function qsofaMet(recent: readonly Reading[], rules: CrsRuleConfig): string[] {
  const q = rules.qsofa;
  const met: string[] = [];
  const rr = extreme(recent, 'respiratory-rate', 'max');
  if (rr !== undefined && rr >= q.respRateAtLeast)
    met.push(`respiratory rate ${rr}/min >= ${q.respRateAtLeast}`);
  const sbp = extreme(recent, 'systolic-bp', 'min');
  if (sbp !== undefined && sbp <= q.systolicAtMost) met.push(`SBP ${sbp} mmHg <= ${q.systolicAtMost}`);
  const gcs = extreme(recent, 'gcs-total', 'min');
  if (gcs !== undefined && gcs < q.gcsBelow) met.push(`GCS ${gcs} < ${q.gcsBelow}`);
  return met;
}
