/**
 * What the app asks of the EHR (SMART App Launch 2.0, https://hl7.org/fhir/smart-app-launch/):
 * read-only, patient-level scopes for the resources the CRS rules read. SMART 2 scopes
 * (`.rs`, `.r`) for servers that say `permission-v2`, SMART 1 (`.read`) for the rest.
 * docs/registration.md lists the same for the EHR's registration form.
 */
export const CLIENT_ID = 'crs-sentinel-trend-view';

/** The resource types the view reads (the same the CDS service prefetches). */
const SEARCHED = [
  'Observation',
  'MedicationAdministration',
  'Medication',
  'Condition',
  'Procedure',
  'Encounter',
];

export const SCOPES_V2 = ['patient/Patient.r', ...SEARCHED.map((t) => `patient/${t}.rs`)];
export const SCOPES_V1 = ['patient/Patient.read', ...SEARCHED.map((t) => `patient/${t}.read`)];

/** EHR launch (`launch`), or standalone launch asking for a patient picker (`launch/patient`). */
export function scopesFor(kind: 'ehr' | 'standalone', capabilities: readonly string[]): string {
  const launch = kind === 'ehr' ? 'launch' : 'launch/patient';
  const resources = capabilities.includes('permission-v2') ? SCOPES_V2 : SCOPES_V1;
  return [launch, ...resources].join(' ');
}
