/**
 * One patient's resources from a bulk export, narrowed and put in time order, so that the replay
 * can hand the engine what the EHR held at any instant (time-travel.ts). Pure: resources in,
 * timeline out.
 *
 * When a resource became known to the EHR:
 * - Observation: its clinical time (effectiveDateTime, effectiveInstant, effectivePeriod.start),
 *   or `issued` when that is later (a result is not in the chart before it is issued);
 * - MedicationAdministration and Procedure: the start (effectiveDateTime / performedDateTime or
 *   the period's start); while the period runs it is shown as in progress (time-travel.ts);
 * - Condition: `recordedDate` only. An onset says when the illness began, not when anyone knew:
 *   the MIMIC export codes diagnoses at discharge (its README), and a replay that used them
 *   during the stay would see the future. A Condition without recordedDate cannot be placed in
 *   time and is left out (counted as undated);
 * - Encounter: period.start; the end is only known once it has passed.
 * Resources the replay cannot place in time are counted by type (`undated`), never guessed.
 */
import type {
  Condition,
  Encounter,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Period,
  Procedure,
} from 'fhir/r4';
import { isLabObservation, isVitalObservation } from '../fixtures/bundle-split.js';
import { isNarrowedResourceType, resourceProblem } from '../fhir/narrow-resources.js';

export interface Dated<T> {
  resource: T;
  /** When the EHR had it (ms since epoch). */
  knownMs: number;
  /** End of a period (infusion, procedure, encounter), when it has one. */
  endMs?: number;
}

export interface PatientTimeline {
  patientId: string;
  patient?: Patient;
  /** Vital-sign Observations, sorted by knownMs. */
  vitals: Dated<Observation>[];
  /** Laboratory Observations, sorted by knownMs. */
  labs: Dated<Observation>[];
  administrations: Dated<MedicationAdministration>[];
  procedures: Dated<Procedure>[];
  conditions: Dated<Condition>[];
  encounters: Dated<Encounter>[];
  /** Medications (shared across patients in a bulk export), always known. */
  medications: Medication[];
  /** Resources left out because they have no time the replay can use, by resource type. */
  undated: Record<string, number>;
  /** Resources the engine cannot read, by problem (`Observation.code.coding: expected array...`). */
  unreadable: Record<string, number>;
  /** Resources of a type the engine does not read (or Observations neither vital nor lab). */
  unused: Record<string, number>;
}

const byKnown = <T>(a: Dated<T>, b: Dated<T>): number => a.knownMs - b.knownMs;

/** Ms since epoch of a FHIR dateTime/instant; undefined when absent or not a date. */
export function instantMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function add(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function observationKnownMs(o: Observation): number | undefined {
  const clinical = instantMs(o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.start);
  const issued = instantMs(o.issued);
  if (clinical === undefined) return issued;
  return issued !== undefined && issued > clinical ? issued : clinical;
}

function periodDated<T>(
  resource: T,
  at: string | undefined,
  period: Period | undefined,
): Dated<T> | undefined {
  const knownMs = instantMs(at ?? period?.start);
  if (knownMs === undefined) return undefined;
  const endMs = at === undefined ? instantMs(period?.end) : undefined;
  return endMs === undefined ? { resource, knownMs } : { resource, knownMs, endMs };
}

/** The timeline of `patientId` from its resources (any order; other patients' are the caller's). */
export function buildTimeline(patientId: string, resources: readonly unknown[]): PatientTimeline {
  const t: PatientTimeline = {
    patientId,
    vitals: [],
    labs: [],
    administrations: [],
    procedures: [],
    conditions: [],
    encounters: [],
    medications: [],
    undated: {},
    unreadable: {},
    unused: {},
  };
  for (const raw of resources) place(t, raw);
  for (const list of [t.vitals, t.labs, t.administrations, t.procedures, t.conditions, t.encounters])
    (list as Dated<unknown>[]).sort(byKnown);
  return t;
}

function place(t: PatientTimeline, raw: unknown): void {
  const type = (raw as { resourceType?: unknown } | null)?.resourceType;
  if (!isNarrowedResourceType(type)) {
    add(t.unused, typeof type === 'string' ? type : 'unknown');
    return;
  }
  const problem = resourceProblem(type, raw);
  if (problem !== undefined) {
    add(t.unreadable, problem);
    return;
  }
  const dated = datedResource(t, type, raw);
  if (dated === 'undated') add(t.undated, type);
  else if (dated === 'unused') add(t.unused, type);
}

type Placed = 'placed' | 'undated' | 'unused';

function datedResource(t: PatientTimeline, type: string, raw: unknown): Placed {
  switch (type) {
    case 'Patient':
      t.patient ??= raw as Patient;
      return 'placed';
    case 'Medication':
      t.medications.push(raw as Medication);
      return 'placed';
    case 'Observation': {
      const o = raw as Observation;
      const knownMs = observationKnownMs(o);
      if (knownMs === undefined) return 'undated';
      if (isVitalObservation(o)) t.vitals.push({ resource: o, knownMs });
      else if (isLabObservation(o)) t.labs.push({ resource: o, knownMs });
      else return 'unused';
      return 'placed';
    }
    case 'MedicationAdministration': {
      const m = raw as MedicationAdministration;
      return push(t.administrations, periodDated(m, m.effectiveDateTime, m.effectivePeriod));
    }
    case 'Procedure': {
      const p = raw as Procedure;
      return push(t.procedures, periodDated(p, p.performedDateTime, p.performedPeriod));
    }
    case 'Condition': {
      const c = raw as Condition;
      const knownMs = instantMs(c.recordedDate);
      return push(t.conditions, knownMs === undefined ? undefined : { resource: c, knownMs });
    }
    case 'Encounter': {
      const e = raw as Encounter;
      return push(t.encounters, periodDated(e, undefined, e.period));
    }
    default:
      return 'unused';
  }
}

function push<T>(list: Dated<T>[], dated: Dated<T> | undefined): Placed {
  if (dated === undefined) return 'undated';
  list.push(dated);
  return 'placed';
}
