/**
 * The view's FHIR searches and how their answers become PatientData (no fhirclient here: Node
 * tests import it). The searches are the CDS service's own prefetch templates (the same code
 * lists), widened to the view's look-back; their answers are assembled by the service's own code
 * (src/fhir/assemble-patient-data.ts) before the core sees them.
 */
import {
  PREFETCH_KEYS,
  type PrefetchKeyName,
  type PrefetchKeys,
} from '../../../src/cds-hooks/crs-sentinel-service.js';
import { assemblePatientData, type SearchResult } from '../../../src/fhir/assemble-patient-data.js';
import type { PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';
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

/**
 * Into the PatientData the core reads, exactly as the service does (src/fhir/assemble-patient-data.ts:
 * narrowed, the patient's own, one of each, what is not used counted).
 */
export function assemble(results: readonly SearchResult[], patientId: string): PatientData {
  return assemblePatientData(results, PREFETCH_KEYS, patientId);
}
