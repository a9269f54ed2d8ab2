/**
 * Time travel: what the EHR held about a patient at one instant, as the PatientData the engine
 * reads (pure). Nothing known after `nowMs` is ever included:
 * - Observations, administrations, procedures known at or before now (patient-timeline.ts says
 *   when each became known), back to the rules' look-back horizon (`ruleLookBackMs`: the service
 *   stops paging there too, gather-patient-data.ts);
 * - an infusion (or procedure) whose period ends after now is running: it is shown as the EHR
 *   shows it then, status `in-progress`, a period without end and no final dose (the amount given
 *   is only charted at the end);
 * - Conditions recorded at or before now (recordedDate);
 * - Encounters started at or before now; one that ends after now is `in-progress` with no end;
 * - the Patient, without a death recorded after now.
 */
import type { Encounter, MedicationAdministration, Patient, Procedure } from 'fhir/r4';
import { emptyPatientData, type PatientData } from '../rules/crs-sentinel/patient-data.js';
import type { Dated, PatientTimeline } from './patient-timeline.js';

/** Index of the first item with knownMs > ms (items sorted by knownMs). */
export function firstAfter<T>(list: readonly Dated<T>[], ms: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Dated<T>).knownMs <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The resources of a sorted list, in the same order, built once per list (slices are cheap). */
const resourcesOf = new WeakMap<readonly Dated<unknown>[], unknown[]>();

/** Resources known in [fromMs, nowMs] (a sorted slice: no scan of the whole history). */
function knownBetween<T>(list: readonly Dated<T>[], fromMs: number, nowMs: number): T[] {
  let resources = resourcesOf.get(list) as T[] | undefined;
  if (!resources) resourcesOf.set(list, (resources = list.map((d) => d.resource)));
  return resources.slice(firstAfter(list, fromMs - 1), firstAfter(list, nowMs));
}

/** Periods started by now and not ended before the horizon, as seen at now. */
function periodsAt<T>(
  list: readonly Dated<T>[],
  fromMs: number,
  nowMs: number,
  running: (resource: T) => T,
): T[] {
  const end = firstAfter(list, nowMs);
  const out: T[] = [];
  for (let i = 0; i < end; i++) {
    const d = list[i] as Dated<T>;
    const lastMs = d.endMs ?? d.knownMs;
    if (lastMs < fromMs) continue;
    out.push(d.endMs !== undefined && d.endMs > nowMs ? running(d.resource) : d.resource);
  }
  return out;
}

function runningAdministration(m: MedicationAdministration): MedicationAdministration {
  const running: MedicationAdministration = { ...m, status: 'in-progress' };
  if (m.effectivePeriod?.start !== undefined) running.effectivePeriod = { start: m.effectivePeriod.start };
  if (m.dosage) {
    const { dose: _finalAmount, ...dosage } = m.dosage;
    running.dosage = dosage;
  }
  return running;
}

function runningProcedure(p: Procedure): Procedure {
  const running: Procedure = { ...p, status: 'in-progress' };
  if (p.performedPeriod?.start !== undefined) running.performedPeriod = { start: p.performedPeriod.start };
  return running;
}

function openEncounter(e: Encounter): Encounter {
  const open: Encounter = { ...e, status: 'in-progress' };
  if (e.period?.start !== undefined) open.period = { start: e.period.start };
  return open;
}

function patientAt(patient: Patient, nowMs: number): Patient {
  const died = patient.deceasedDateTime === undefined ? undefined : Date.parse(patient.deceasedDateTime);
  if (died === undefined || Number.isNaN(died) || died <= nowMs) return patient;
  const { deceasedDateTime: _later, ...alive } = patient;
  return alive;
}

/** What the EHR held at `nowMs`, back to `nowMs - lookBackMs` for the time-ordered data sets. */
export function dataAt(timeline: PatientTimeline, nowMs: number, lookBackMs: number): PatientData {
  const fromMs = nowMs - lookBackMs;
  const data = emptyPatientData();
  if (timeline.patient) data.patient = patientAt(timeline.patient, nowMs);
  data.vitals = knownBetween(timeline.vitals, fromMs, nowMs);
  data.labs = knownBetween(timeline.labs, fromMs, nowMs);
  data.medicationAdministrations = periodsAt(timeline.administrations, fromMs, nowMs, runningAdministration);
  data.procedures = periodsAt(timeline.procedures, fromMs, nowMs, runningProcedure);
  data.medications = timeline.medications;
  data.conditions = knownBetween(timeline.conditions, Number.NEGATIVE_INFINITY, nowMs);
  data.encounters = periodsAt(timeline.encounters, Number.NEGATIVE_INFINITY, nowMs, openEncounter);
  return data;
}
