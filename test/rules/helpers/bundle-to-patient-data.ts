/** Test helper: a FHIR transaction/collection/searchset Bundle to the engine's PatientData. */
import type {
  Bundle,
  Condition,
  Encounter,
  FhirResource,
  Medication,
  MedicationAdministration,
  Observation,
  Patient,
  Procedure,
} from 'fhir/r4';
import type { PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';

const LAB_CATEGORY = 'laboratory';

export function bundleToPatientData(bundle: Bundle): PatientData {
  const resources = (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is FhirResource => r !== undefined);
  const of = <T extends FhirResource>(type: T['resourceType']): T[] =>
    resources.filter((r): r is T => r.resourceType === type);
  const observations = of<Observation>('Observation');
  const isLab = (o: Observation): boolean =>
    (o.category ?? []).some((c) => (c.coding ?? []).some((cd) => cd.code === LAB_CATEGORY));
  const patient = of<Patient>('Patient')[0];
  return {
    ...(patient && { patient }),
    vitals: observations.filter((o) => !isLab(o)),
    labs: observations.filter(isLab),
    medicationAdministrations: of<MedicationAdministration>('MedicationAdministration'),
    medications: of<Medication>('Medication'),
    conditions: of<Condition>('Condition'),
    procedures: of<Procedure>('Procedure'),
    encounters: of<Encounter>('Encounter'),
    truncated: [],
  };
}
