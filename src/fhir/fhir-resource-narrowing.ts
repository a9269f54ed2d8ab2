/**
 * Narrowing of untrusted FHIR JSON (from prefetch or a FHIR server) at the boundary. Only the
 * shape the data layer relies on is checked here (resourceType, Bundle entries and links); the
 * clinical rules read every field defensively since FHIR makes nearly all of them optional.
 */
import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isResource(value: unknown): value is FhirResource {
  return isRecord(value) && typeof value.resourceType === 'string' && value.resourceType.length > 0;
}

export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return isResource(value) && value.resourceType === 'OperationOutcome';
}

export function isBundle(value: unknown): value is Bundle {
  if (!isRecord(value) || value.resourceType !== 'Bundle') return false;
  const { entry, link } = value;
  return (entry === undefined || Array.isArray(entry)) && (link === undefined || Array.isArray(link));
}

/**
 * The resources of a search Bundle, skipping OperationOutcome entries (`search.mode: outcome`)
 * and entries without a resource. Anything else is returned as found, junk included, for the
 * caller to narrow and count (an entry that is not an object counts as a junk resource).
 */
export function bundleResources(bundle: Bundle): unknown[] {
  const resources: unknown[] = [];
  for (const entry of (bundle.entry ?? []) as unknown[]) {
    if (!isRecord(entry)) {
      resources.push(entry);
      continue;
    }
    const resource = entry.resource;
    if (resource === undefined || isOperationOutcome(resource)) continue;
    resources.push(resource);
  }
  return resources;
}

export function nextLink(bundle: Bundle): string | undefined {
  const next = bundle.link?.find((l) => isRecord(l) && l.relation === 'next');
  return typeof next?.url === 'string' && next.url.length > 0 ? next.url : undefined;
}

/**
 * The clinical time of a resource, for deciding when paging can stop (results come newest first).
 * Unknown or absent: undefined, and paging goes on.
 */
export function clinicalTime(resource: unknown): string | undefined {
  if (!isRecord(resource)) return undefined;
  const r = resource;
  const fromPeriod = (p: unknown): string | undefined =>
    isRecord(p) ? (asString(p.end) ?? asString(p.start)) : undefined;
  switch (r.resourceType) {
    case 'Observation':
      return (
        asString(r.effectiveDateTime) ??
        asString(r.effectiveInstant) ??
        fromPeriod(r.effectivePeriod) ??
        asString(r.issued)
      );
    case 'MedicationAdministration':
      return asString(r.effectiveDateTime) ?? fromPeriod(r.effectivePeriod);
    case 'Procedure':
      return asString(r.performedDateTime) ?? fromPeriod(r.performedPeriod);
    case 'Condition':
      return asString(r.recordedDate) ?? asString(r.onsetDateTime);
    case 'Encounter':
      return fromPeriod(r.period);
    default:
      return undefined;
  }
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
