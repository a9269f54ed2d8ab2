/**
 * The view's FHIR searches and how their answers become PatientData (no fhirclient here: Node
 * tests import it). The searches are the CDS service's own prefetch templates (the same code
 * lists), widened to the view's look-back; each resource is narrowed and checked to belong to the
 * patient by the service's own boundary functions (src/fhir/narrow-resources.ts,
 * patient-reference.ts) before the core sees it; what is not used is counted, as on the card.
 */
import type { FhirResource } from 'fhir/r4';
import {
  PREFETCH_KEYS,
  type PrefetchKeyName,
  type PrefetchKeys,
} from '../../../src/cds-hooks/crs-sentinel-service.js';
import { isNarrowedResourceType, resourceProblem } from '../../../src/fhir/narrow-resources.js';
import { belongsToPatient } from '../../../src/fhir/patient-reference.js';
import {
  emptyPatientData,
  type DataSetName,
  type PatientData,
} from '../../../src/rules/crs-sentinel/patient-data.js';
import { VIEW } from './view-settings.js';

/** The date search parameter of each windowed search (the rest are small and read whole). */
const DATE_PARAMETER: Partial<Record<PrefetchKeyName, string>> = {
  vitals: 'date',
  medicationAdministrations: 'effective-time',
};

/**
 * The service's three Observation searches (vitals, labs, body weight: bounded separately for a
 * hook's latest-values view) as one: the view wants all of them over the same window, and the
 * core pools them anyway. One search instead of three spares the FHIR server two scans.
 */
const OBSERVATION_KEYS: readonly PrefetchKeyName[] = ['vitals', 'labs', 'bodyWeight'];

function observationCodes(keys: PrefetchKeys): string {
  const codes = OBSERVATION_KEYS.flatMap(
    (key) => new URLSearchParams(keys[key].template.split('?')[1]).get('code')?.split(',') ?? [],
  );
  return [...new Set(codes)].join(',');
}

/**
 * The search URLs (relative to the FHIR base) for a patient since `sinceIso`, from the service's
 * prefetch templates (`keys`: with the site's own codes when it has SITE_CODES).
 */
export function searchUrls(
  patientId: string,
  sinceIso: string,
  keys: PrefetchKeys = PREFETCH_KEYS,
): { key: PrefetchKeyName; url: string }[] {
  const id = encodeURIComponent(patientId);
  const since = encodeURIComponent(sinceIso);
  return (Object.keys(keys) as PrefetchKeyName[])
    .filter((key) => key === 'vitals' || !OBSERVATION_KEYS.includes(key))
    .map((key) => {
      const template =
        key === 'vitals'
          ? `Observation?patient=${id}&code=${observationCodes(keys)}&_sort=-date&_count=${String(VIEW.pageSize)}`
          : keys[key].template
              .replaceAll('{{context.patientId}}', id)
              .replace(/_count=\d+/, `_count=${String(VIEW.pageSize)}`);
      const date = DATE_PARAMETER[key];
      return { key, url: date === undefined ? template : `${template}&${date}=ge${since}` };
    });
}

/** Narrowed, the patient's own, one of each (pages and searches overlap), into their data sets. */
export function assemble(
  results: readonly { key: PrefetchKeyName; resources: readonly unknown[]; truncated: boolean }[],
  patientId: string,
): PatientData {
  const data = emptyPatientData();
  const seen = new Set<string>();
  const unused = new Map<string, PatientData['unused'][number]>();
  const count = (resourceType: string, reason: PatientData['unused'][number]['reason'], detail?: string) => {
    const item = unused.get(`${resourceType}/${reason}`);
    if (item) item.count++;
    else
      unused.set(`${resourceType}/${reason}`, {
        resourceType,
        reason,
        count: 1,
        ...(detail !== undefined && { detail }),
      });
  };
  for (const { key, resources, truncated } of results) {
    const dataSet = PREFETCH_KEYS[key].dataSet;
    if (truncated && !data.truncated.includes(dataSet)) data.truncated.push(dataSet);
    for (const resource of resources) {
      const type = (resource as { resourceType?: unknown }).resourceType;
      if (!isNarrowedResourceType(type)) continue;
      const id = (resource as { id?: unknown }).id;
      if (typeof id === 'string' && seen.has(`${type}/${id}`)) continue;
      if (typeof id === 'string') seen.add(`${type}/${id}`);
      const problem = resourceProblem(type, resource);
      if (problem !== undefined) {
        count(type, 'malformed', problem);
        continue;
      }
      const owner = belongsToPatient(type, resource as { id?: unknown; subject?: unknown }, patientId);
      if (owner !== 'yes') count(type, owner);
      else place(data, dataSet, resource as FhirResource);
    }
  }
  data.unused = [...unused.values()];
  return data;
}

function place(data: PatientData, dataSet: DataSetName, resource: FhirResource): void {
  switch (resource.resourceType) {
    case 'Patient':
      data.patient = resource;
      return;
    case 'Observation':
      (dataSet === 'labs' ? data.labs : data.vitals).push(resource);
      return;
    case 'MedicationAdministration':
      data.medicationAdministrations.push(resource);
      return;
    case 'Medication':
      data.medications.push(resource);
      return;
    case 'Condition':
      data.conditions.push(resource);
      return;
    case 'Procedure':
      data.procedures.push(resource);
      return;
    case 'Encounter':
      data.encounters.push(resource);
      return;
    default:
      return;
  }
}
