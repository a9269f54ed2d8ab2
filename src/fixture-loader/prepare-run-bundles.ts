/**
 * Turns the fixture transaction Bundles into one run's Bundles (pure, no I/O):
 * - every resource id `crs-fx-<rest>` becomes `<run prefix>-<rest>` (FHIR ids: at most 64 of
 *   [A-Za-z0-9-.]), and every `Type/id` reference, `request.url` and `urn:uuid` fullUrl that points
 *   at a rewritten resource follows, consistently across all the Bundles of the run;
 * - every resource gets the run's `meta.tag` coding (its HTEST / constructed-fixture tags stay);
 * - crs-sentinel identifiers (`urn:crs-sentinel:*`, the fixture MRNs) get the run prefix as a
 *   suffix, so two runs never share a patient identifier on a shared server;
 * - every FHIR date moves from the manifest's anchor to `now` (rebaseBundle).
 * A reference to a fixture id that is not part of the run is an error, never left dangling.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Identifier, Resource } from 'fhir/r4';
import { rebaseBundle } from '../fixtures/rebase-fixture.js';
import { runIdPrefix, runTagCoding } from './run-tag.js';

const FIXTURE_ID_PREFIX = 'crs-fx-';
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const LITERAL_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const CRS_IDENTIFIER_SYSTEM = /^urn:crs-sentinel:/;

export class RunBundleError extends Error {
  override name = 'RunBundleError';
}

export interface RunBundleInput {
  file: string;
  bundle: Bundle;
}

export interface PreparedRun {
  runTag: string;
  /** One transaction Bundle per input, same order. */
  bundles: Bundle[];
  /** `Type/oldId` → new id, for every resource of the run. */
  idMap: Map<string, string>;
}

/** The run's id for a fixture resource id. */
export function runResourceId(fixtureId: string, runTag: string): string {
  const rest = fixtureId.startsWith(FIXTURE_ID_PREFIX)
    ? fixtureId.slice(FIXTURE_ID_PREFIX.length)
    : fixtureId;
  const id = `${runIdPrefix(runTag)}-${rest}`;
  if (!FHIR_ID.test(id)) {
    throw new RunBundleError(
      `the run id for ${fixtureId} is not a valid FHIR id (at most 64 characters): ${id}`,
    );
  }
  return id;
}

export function prepareRunBundles(
  inputs: RunBundleInput[],
  options: { runTag: string; anchor: Date; now: Date },
): PreparedRun {
  const { runTag } = options;
  const prefix = runIdPrefix(runTag);
  const idMap = new Map<string, string>();
  const urnMap = new Map<string, string>();
  for (const { file, bundle } of inputs) {
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.id === undefined) throw new RunBundleError(`${file}: an entry has no resource id`);
      const key = `${resource.resourceType}/${resource.id}`;
      if (idMap.has(key)) throw new RunBundleError(`${file}: ${key} appears twice in the run`);
      idMap.set(key, runResourceId(resource.id, runTag));
      if (entry.fullUrl?.startsWith('urn:uuid:')) urnMap.set(entry.fullUrl, `urn:uuid:${randomUUID()}`);
    }
  }

  const rewriteReference = (reference: string, file: string): string => {
    const urn = urnMap.get(reference);
    if (urn !== undefined) return urn;
    const m = LITERAL_REFERENCE.exec(reference);
    if (!m) return reference;
    const mapped = idMap.get(reference);
    if (mapped !== undefined) return `${m[1] ?? ''}/${mapped}`;
    if ((m[2] ?? '').startsWith(FIXTURE_ID_PREFIX)) {
      throw new RunBundleError(`${file}: reference ${reference} points at no resource of this run`);
    }
    return reference;
  };

  const bundles = inputs.map(({ file, bundle }) => {
    const rebased = rebaseBundle(bundle, options.anchor, options.now);
    const entry: BundleEntry[] = (rebased.entry ?? []).map((e) => {
      const original = e.resource as Resource & { id: string };
      const newId = idMap.get(`${original.resourceType}/${original.id}`) ?? original.id;
      const resource = rewriteReferences(original, (r) => rewriteReference(r, file)) as Resource;
      resource.id = newId;
      resource.meta = { ...resource.meta, tag: [...(resource.meta?.tag ?? []), runTagCoding(runTag)] };
      const withIdentifiers = resource as Resource & { identifier?: Identifier[] };
      if (Array.isArray(withIdentifiers.identifier)) {
        withIdentifiers.identifier = withIdentifiers.identifier.map((identifier) =>
          identifier.system !== undefined &&
          CRS_IDENTIFIER_SYSTEM.test(identifier.system) &&
          identifier.value !== undefined
            ? { ...identifier, value: `${identifier.value}-${prefix}` }
            : identifier,
        );
      }
      const fullUrl = e.fullUrl === undefined ? undefined : (urnMap.get(e.fullUrl) ?? e.fullUrl);
      return {
        ...(fullUrl !== undefined ? { fullUrl } : {}),
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${newId}` },
      };
    });
    const out: Bundle = {
      resourceType: 'Bundle',
      ...(bundle.id !== undefined ? { id: runResourceId(bundle.id, runTag) } : {}),
      meta: { tag: [...(bundle.meta?.tag ?? []), runTagCoding(runTag)] },
      type: 'transaction',
      entry,
    };
    return out;
  });
  return { runTag, bundles, idMap };
}

/** A deep copy with every `reference` string passed through `rewrite`. */
function rewriteReferences(node: unknown, rewrite: (reference: string) => string): unknown {
  if (Array.isArray(node)) return node.map((item: unknown) => rewriteReferences(item, rewrite));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] =
        key === 'reference' && typeof value === 'string' ? rewrite(value) : rewriteReferences(value, rewrite);
    }
    return out;
  }
  return node;
}
