/**
 * ASTCT 2019 CRS grade (Lee et al. BBMT 2019;25:625, table): the worse of the hypotension and
 * hypoxia domains, with fever. Fever alone = grade 1. Fever is no longer required once
 * tocilizumab, steroids or antipyretics were given. In sepsis context the same physiology is
 * graded without requiring fever [DESIGN]: ASTCT was defined for immune effector cell therapy.
 */
import { HOUR_MS } from './fhir-values.js';
import type { MedicationEvent } from './medication-events.js';
import type { CrsVitals } from './crs-vitals.js';
import type { CrsRuleConfig } from './rule-config.js';
import { OXYGEN_CLASS_GRADE } from './rule-tables.js';

export type CrsGrade = 1 | 2 | 3 | 4;
export type DomainGrade = 0 | 2 | 3 | 4;

export interface MaskingAgent {
  id: string;
  name: string;
  medicationClass: 'tocilizumab' | 'corticosteroid' | 'antipyretic';
  lastGiven: string;
}

export interface GradeResult {
  grade: CrsGrade | 'none';
  hypotensionDomain: DomainGrade;
  hypoxiaDomain: DomainGrade;
  feverPresent: boolean;
  feverRequired: boolean;
  /** Why fever was not required: masking agents given (empty when none). */
  feverMaskedBy: MaskingAgent[];
  /** In sepsis context without fever: whether the patient was afebrile or hypothermic. */
  temperatureState?: 'afebrile' | 'hypothermic' | 'no-temperature';
  /** Each rule that fired, in words. */
  basis: string[];
}

export interface GradeInput {
  vitals: CrsVitals;
  events: readonly MedicationEvent[];
  now: Date;
  therapyContext: boolean;
  sepsisContext: boolean;
  /** Latest therapy dose (masking counts from premedicationHours before it). */
  referenceTime?: string;
  rules: CrsRuleConfig;
}

export function gradeCrs(input: GradeInput): GradeResult {
  const { vitals } = input;
  const hypotensionDomain = hypotensionGrade(vitals);
  const hypoxiaDomain: DomainGrade = vitals.oxygen.hypoxiaWithoutSupport
    ? 2
    : OXYGEN_CLASS_GRADE[vitals.oxygen.supportClass];
  const feverMaskedBy = maskingAgents(input);
  const feverPresent = vitals.fever.present;
  const feverRequired = !input.sepsisContext && feverMaskedBy.length === 0;
  const basis = describeBasis(vitals, hypotensionDomain, hypoxiaDomain);
  const physiology = Math.max(hypotensionDomain, hypoxiaDomain) as DomainGrade;
  let grade: CrsGrade | 'none' = 'none';
  if (!input.therapyContext && !input.sepsisContext) grade = 'none';
  else if (feverRequired && !feverPresent) {
    if (physiology > 0)
      basis.push('no fever: ASTCT requires fever unless masked, so this is not graded as CRS');
  } else if (physiology > 0) grade = physiology as CrsGrade;
  else if (feverPresent) grade = 1;
  const masked = feverMaskedBy.map((m) => m.name).join(', ');
  if (input.sepsisContext && !feverPresent) {
    basis.push('fever not required in sepsis context (ASTCT was defined for immune effector cell therapy)');
  } else if (feverMaskedBy.length && !feverPresent) {
    basis.push(`fever not required: ${masked} given (ASTCT)`);
  }
  if (input.sepsisContext && feverMaskedBy.length && !feverPresent)
    basis.push(`fever may be masked by ${masked}`);
  const temperatureState = input.sepsisContext && !feverPresent ? temperatureStateOf(vitals) : undefined;
  return {
    grade,
    hypotensionDomain,
    hypoxiaDomain,
    feverPresent,
    feverRequired,
    feverMaskedBy,
    ...(temperatureState && { temperatureState }),
    basis,
  };
}

function hypotensionGrade(vitals: CrsVitals): DomainGrade {
  const pressors = vitals.vasopressors;
  if (pressors.countedAgents >= 2) return 4;
  if (pressors.agents.length >= 1) return 3;
  return vitals.hypotension.present ? 2 : 0;
}

function temperatureStateOf(vitals: CrsVitals): GradeResult['temperatureState'] {
  if (vitals.fever.hypothermia) return 'hypothermic';
  return vitals.fever.highest ? 'afebrile' : 'no-temperature';
}

function maskingAgents(input: GradeInput): MaskingAgent[] {
  const nowMs = input.now.getTime();
  const referenceMs = input.referenceTime !== undefined ? Date.parse(input.referenceTime) : nowMs;
  const anticytokineFrom = referenceMs - input.rules.masking.premedicationHours * HOUR_MS;
  const antipyreticFrom = nowMs - input.rules.masking.antipyreticHours * HOUR_MS;
  const found = new Map<string, MaskingAgent>();
  for (const e of input.events) {
    const cls = e.medicationClass;
    if (cls !== 'tocilizumab' && cls !== 'corticosteroid' && cls !== 'antipyretic') continue;
    const given = Date.parse(e.start);
    const from = cls === 'antipyretic' ? antipyreticFrom : anticytokineFrom;
    if (given < from || given > nowMs) continue;
    const previous = found.get(e.conceptId);
    if (!previous || e.start > previous.lastGiven) {
      found.set(e.conceptId, { id: e.conceptId, name: e.name, medicationClass: cls, lastGiven: e.start });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function describeBasis(vitals: CrsVitals, hypotension: DomainGrade, hypoxia: DomainGrade): string[] {
  const basis: string[] = [];
  const t = vitals.fever.highest;
  if (vitals.fever.present && t) basis.push(`fever: ${t.value} °C >= ${vitals.fever.thresholdCelsius} °C`);
  const pressors = vitals.vasopressors;
  const names = pressors.agents.map((a) => a.name).join(' + ');
  const vasopressinNote = pressors.agents.some((a) => !a.countsTowardSeveral)
    ? '; vasopressin not counted'
    : '';
  if (hypotension === 4)
    basis.push(`several vasopressors (${names}${vasopressinNote}): hypotension domain grade 4`);
  else if (hypotension === 3)
    basis.push(`one vasopressor (${names}${vasopressinNote}): hypotension domain grade 3`);
  else if (hypotension === 2)
    basis.push(`${hypotensionText(vitals)} without vasopressors: hypotension domain grade 2`);
  const oxygen = vitals.oxygen;
  if (oxygen.hypoxiaWithoutSupport && oxygen.lowestSpo2) {
    basis.push(
      `SpO2 ${oxygen.lowestSpo2.value} % with no oxygen support charted: treated as hypoxia needing support, hypoxia domain grade 2`,
    );
  } else if (hypoxia > 0) {
    basis.push(
      `oxygen support ${oxygen.supportClass} (${oxygen.basis.join(', ')}): hypoxia domain grade ${hypoxia}`,
    );
  }
  return basis;
}

export function hypotensionText(vitals: CrsVitals): string {
  const h = vitals.hypotension;
  const parts: string[] = [];
  if (h.lowestSystolic && h.lowestSystolic.value < h.systolicBelow) {
    parts.push(
      `SBP ${h.lowestSystolic.value} mmHg < ${h.systolicBelow}${h.paediatricAgeYears !== undefined ? ` (age ${h.paediatricAgeYears})` : ''}`,
    );
  }
  if (
    h.meanArterialBelow !== undefined &&
    h.lowestMeanArterial &&
    h.lowestMeanArterial.value < h.meanArterialBelow
  ) {
    parts.push(`MAP ${h.lowestMeanArterial.value} mmHg < ${h.meanArterialBelow}`);
  }
  return parts.length ? parts.join(', ') : 'hypotension';
}
