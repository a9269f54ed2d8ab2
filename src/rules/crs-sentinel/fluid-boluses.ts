/**
 * Fluid boluses (crystalloid or albumin) given in a window: evidence that hypotension needed
 * fluids, which makes it circulatory failure in a sepsis context (assess-crs.ts). Read from the
 * administrations' texts, since fluids are rarely coded in RxNorm by EHR feeds.
 */
import type { MedicationAdministration } from 'fhir/r4';
import { codingsOf, normaliseText, parseFhirTime } from './fhir-values.js';
import { FLUID_BOLUS_MIN_ML, FLUID_NAMES, GIVEN_STATUSES } from './rule-tables.js';

export interface FluidBolus {
  time: string;
  text: string;
}

export function fluidBoluses(
  administrations: readonly MedicationAdministration[],
  fromMs: number,
  nowMs: number,
): FluidBolus[] {
  const found: FluidBolus[] = [];
  for (const ma of administrations) {
    if (!GIVEN_STATUSES.includes(ma.status)) continue;
    const at = parseFhirTime(ma.effectiveDateTime ?? ma.effectivePeriod?.start);
    if (at === undefined || at < fromMs || at > nowMs) continue;
    const concept = ma.medicationCodeableConcept;
    const text = [concept?.text, ...codingsOf(concept).map((c) => c.display), ma.dosage?.text]
      .filter((t): t is string => typeof t === 'string')
      .join(' ');
    const words = ` ${normaliseText(text)} `;
    if (!FLUID_NAMES.some((name) => words.includes(` ${name} `))) continue;
    const dose = ma.dosage?.dose;
    const millilitres =
      dose?.value !== undefined && /^ml$/i.test(dose.code ?? dose.unit ?? '') ? dose.value : 0;
    if (words.includes(' bolus ') || millilitres >= FLUID_BOLUS_MIN_ML)
      found.push({ time: new Date(at).toISOString(), text: text.slice(0, 80) });
  }
  return found;
}
