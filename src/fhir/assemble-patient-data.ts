/**
 * From FHIR search answers to PatientData (pure: no I/O, runs in the browser too). The boundary's
 * checks (narrow-resources.ts, patient-reference.ts) decide what the rules may see.
 */
import type { FhirResource } from 'fhir/r4';
import type { PrefetchKeyName, PrefetchKeys } from '../cds-hooks/crs-sentinel-service.js';
import {
  emptyPatientData,
  type DataSetName,
  type PatientData,
  type UnusedReason,
} from '../rules/crs-sentinel/patient-data.js';
import { isResource } from './fhir-resource-narrowing.js';
import { isNarrowedResourceType, resourceProblem, type NarrowedResourceType } from './narrow-resources.js';
import { belongsToPatient } from './patient-reference.js';

/** The resources one search key answered (all its pages), and whether it was cut off. */
export interface SearchResult {
  readonly key: PrefetchKeyName;
  readonly resources: readonly unknown[];
  readonly truncated: boolean;
}

/**
 * The searches' answers as the PatientData the rules read: each resource narrowed at the boundary,
 * kept only when it is the patient's own, once (pages and searches overlap), in its data set;
 * what is not used is counted by type and reason. Shared by the service (gather-patient-data.ts)
 * and the trend view, so both read a chart the same way.
 */
export function assemblePatientData(
  results: readonly SearchResult[],
  keys: PrefetchKeys,
  patientId: string,
): PatientData {
  const data = emptyPatientData();
  const unused = new UnusedTally();
  // Ids seen, per resource type: no "Type/id" string is built per resource (hundreds per hook).
  const seen = new Map<string, Set<string>>();
  for (const result of results) {
    const dataSet: DataSetName = keys[result.key].dataSet;
    // A next page the rules never read (older body weights) is no truncation worth reporting.
    const matters = keys[result.key].truncationMatters;
    if (result.truncated && matters && !data.truncated.includes(dataSet)) data.truncated.push(dataSet);
    for (const resource of result.resources) {
      if (!isResource(resource)) {
        unused.add('unknown', 'malformed', 'Bundle.entry.resource: expected a FHIR resource');
        continue;
      }
      const type = resource.resourceType;
      // Types no data set holds (a Practitioner `_include`d, say) are dropped, as before.
      if (!isNarrowedResourceType(type)) continue;
      // Pages and keys can overlap (a resource on two pages, weight in two searches): keep one.
      const id: unknown = resource.id;
      if (typeof id === 'string' && !firstSighting(seen, type, id)) continue;
      const problem = resourceProblem(type, resource);
      if (problem !== undefined) {
        unused.add(type, 'malformed', problem);
        continue;
      }
      const owner = belongsToPatient(type, resource, patientId);
      if (owner !== 'yes') {
        unused.add(type, owner);
        continue;
      }
      place(data, dataSet, resource);
    }
  }
  data.unused = unused.list();
  return data;
}

/** Unused resources counted by type and reason, with the first problem seen (no ids, no values). */
export class UnusedTally {
  private readonly byKey = new Map<string, PatientData['unused'][number]>();

  add(resourceType: NarrowedResourceType | 'unknown', reason: UnusedReason, detail?: string): void {
    const key = `${resourceType}/${reason}`;
    const known = this.byKey.get(key);
    if (known) known.count++;
    else this.byKey.set(key, { resourceType, reason, count: 1, ...(detail === undefined ? {} : { detail }) });
  }

  /** Carries on counting from an earlier list. */
  restore(item: PatientData['unused'][number]): void {
    this.byKey.set(`${item.resourceType}/${item.reason}`, { ...item });
  }

  list(): PatientData['unused'] {
    return [...this.byKey.values()];
  }
}

/** True the first time a resource type and id are seen (and records them). */
function firstSighting(seen: Map<string, Set<string>>, resourceType: string, id: string): boolean {
  let ids = seen.get(resourceType);
  if (!ids) {
    ids = new Set();
    seen.set(resourceType, ids);
  }
  if (ids.has(id)) return false;
  ids.add(id);
  return true;
}

/** Puts a resource where it belongs; resources of a type a data set does not hold are dropped. */
function place(data: PatientData, dataSet: DataSetName, resource: FhirResource): void {
  switch (resource.resourceType) {
    case 'Patient':
      if (dataSet === 'patient') data.patient = resource;
      return;
    case 'Observation':
      if (dataSet === 'vitals') data.vitals.push(resource);
      else if (dataSet === 'labs') data.labs.push(resource);
      return;
    case 'MedicationAdministration':
      if (dataSet === 'medicationAdministrations') data.medicationAdministrations.push(resource);
      return;
    case 'Medication':
      data.medications.push(resource); // `_include`d by a server or bundled by an EHR
      return;
    case 'Condition':
      if (dataSet === 'conditions') data.conditions.push(resource);
      return;
    case 'Procedure':
      if (dataSet === 'procedures') data.procedures.push(resource);
      return;
    case 'Encounter':
      if (dataSet === 'encounters') data.encounters.push(resource);
      return;
    default:
      return;
  }
}
