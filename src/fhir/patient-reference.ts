/**
 * Whether a narrowed resource belongs to the patient in context (CDS Hooks `context.patientId`).
 * A prefetch or a FHIR server may hand back another patient's data (a template filled wrongly, a
 * server ignoring `patient=`, a hostile answer); the rules must never grade it.
 *
 * A reference matches when it is `Patient/<id>` or an absolute URL ending in `/Patient/<id>`,
 * either optionally followed by `/_history/<version>` (FHIR R4 references,
 * https://hl7.org/fhir/R4/references.html#literal). Nothing else is stripped or guessed: a
 * reference by identifier or display only, a `urn:uuid:` or a query does not match.
 */
import type { NarrowedResourceType } from './narrow-resources.js';

export type Ownership = 'yes' | 'other-patient' | 'no-patient-reference';

const HISTORY_SUFFIX = /\/_history\/[^/]+$/;
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** `resource` has passed narrowing: `id` and `subject.reference` are strings when present. */
export function belongsToPatient(
  type: NarrowedResourceType,
  resource: { id?: unknown; subject?: unknown },
  patientId: string,
): Ownership {
  switch (type) {
    case 'Medication':
      return 'yes'; // a drug, no subject
    case 'Patient':
      if (resource.id === undefined) return 'no-patient-reference';
      return resource.id === patientId ? 'yes' : 'other-patient';
    default: {
      const subject = resource.subject as { reference?: unknown } | undefined;
      const reference = subject?.reference;
      if (typeof reference !== 'string') return 'no-patient-reference';
      return isPatientReference(reference, patientId) ? 'yes' : 'other-patient';
    }
  }
}

export function isPatientReference(reference: string, patientId: string): boolean {
  const local = `Patient/${patientId}`;
  if (reference === local) return true;
  const bare = reference.replace(HISTORY_SUFFIX, '');
  if (bare === local) return true;
  return bare.endsWith(`/${local}`) && ABSOLUTE_URL.test(bare);
}
