/**
 * The crs-sentinel service definition, published at GET /cds-services
 * (https://cds-hooks.hl7.org/2.0/#response). The same prefetch templates drive the data layer's
 * own fetch when the EHR did not prefetch a key, so the two can never drift apart.
 *
 * CDS Hooks 2.0 templates have no date arithmetic, so every search is bounded by `_sort` (newest
 * first) and `_count` (page size). Where a bound can cut data off, the data layer follows `next`
 * links up to a page limit and stops once a page is older than the rules' look-back horizon; a
 * search that hits the page limit is reported as truncated on the card, never read as normal.
 */
import type { DataSetName } from '../rules/crs-sentinel/patient-data.js';
import { OBSERVATION_KINDS, type CodeIndex, type Coded } from '../rules/crs-sentinel/code-index.js';
import { DEFAULT_CODE_INDEX } from '../rules/crs-sentinel/default-value-sets.js';
import type { CrsRuleConfig } from '../rules/crs-sentinel/rule-config.js';
import { SYSTEM, type ReadingKind } from '../rules/crs-sentinel/rule-tables.js';
import { EMPTY_SITE_CODES, type SiteCodes } from '../rules/crs-sentinel/site-codes.js';

export const CRS_SENTINEL_SERVICE_ID = 'crs-sentinel';
export const PATIENT_VIEW_HOOK = 'patient-view';

/**
 * The Observation codes to ask for come from the rules' own code lists (the ValueSets of
 * `valuesets/` and SITE_VALUESETS, through the CodeIndex) and the site's own observation codes
 * (SITE_CODES), so a code the rules learn is fetched too: lab kinds
 * (and cultures) go to `labs`, body weight to `bodyWeight`, every other reading kind (with the BP
 * panels and the oxygen-device code) to `vitals`.
 */
const LAB_KINDS: ReadonlySet<ReadingKind> = new Set(['lactate', 'il-6', 'crp', 'ferritin', 'wbc']);

function observationTokens(
  keep: (kind: ReadingKind) => boolean,
  siteCodes: SiteCodes,
  codes: CodeIndex,
): string[] {
  const listed = OBSERVATION_KINDS.filter(keep).flatMap((kind) => codes.readingCodes(kind));
  const site = Object.entries(siteCodes.observations)
    .filter(([, kind]) => keep(kind))
    .map(([key]) => splitCodeKey(key));
  return searchTokens([...listed, ...site], siteCodes);
}

/** A site mapping's `system|code` key back into its parts (the system never holds a `|`). */
function splitCodeKey(key: string): { system: string; code: string } {
  const bar = key.indexOf('|');
  return { system: key.slice(0, bar), code: key.slice(bar + 1) };
}

/**
 * FHIR token search values for these codings, plus the same code under every local system the
 * site aliases to that system (SITE_CODES `systemAliases`): the rules read such a coding as the
 * standard one, so the search must ask for it as the EHR stores it.
 */
function searchTokens(codings: readonly Coded[], siteCodes: SiteCodes): string[] {
  const aliasesOf = new Map<string, string[]>();
  for (const [local, standard] of Object.entries(siteCodes.systemAliases)) {
    aliasesOf.set(standard, [...(aliasesOf.get(standard) ?? []), local]);
  }
  const tokens = codings.flatMap(({ system, code }) =>
    [system, ...(aliasesOf.get(system) ?? [])].map((s) => `${tokenPart(s)}|${tokenPart(code)}`),
  );
  return [...new Set(tokens)];
}

/**
 * One part of a token in a query string: FHIR search escapes `\`, `,`, `|`, `$` with a backslash
 * (https://hl7.org/fhir/R4/search.html#escaping), then URL characters are percent-encoded; `:`
 * and `/` stay readable (a site's local codes may hold any of these).
 */
function tokenPart(text: string): string {
  return encodeURIComponent(text.replace(/[\\,|$]/g, (c) => `\\${c}`))
    .replaceAll('%3A', ':')
    .replaceAll('%2F', '/');
}

/** A token of a search: `system|code`; `system` undefined when the token had no `|`. */
export interface SearchToken {
  system: string | undefined;
  code: string;
}

/**
 * The tokens of a decoded `code=` search value, undoing FHIR's backslash escapes (the inverse of
 * the templates' own encoding): for the emulations of an EHR's search in fixtures and tests.
 */
export function parseSearchTokens(value: string): SearchToken[] {
  const tokens: SearchToken[] = [];
  let system: string | undefined;
  let text = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === '\\' && i + 1 < value.length) text += value.charAt(++i);
    else if (c === '|' && system === undefined) [system, text] = [text, ''];
    else if (c === ',') {
      tokens.push({ system, code: text });
      [system, text] = [undefined, ''];
    } else text += c;
  }
  tokens.push({ system, code: text });
  return tokens;
}

/**
 * Codes that name a CAR-T product or a bispecific on an administration: RxNorm, HCPCS, and the
 * site's own medication codes mapped to one. Products charted by name only are found in the
 * general administrations search.
 */
function therapyTokens(siteCodes: SiteCodes, codes: CodeIndex): string[] {
  const agents = codes.therapyConcepts;
  const ids = new Set(agents.map((a) => a.id));
  return searchTokens(
    [
      ...agents.flatMap((a) => a.rxnorm.map((code) => ({ system: SYSTEM.rxnorm, code }))),
      // HCPCS and a site's own codes name a product on an administration; ICD-10-PCS and CPT
      // codes are only ever on Procedures.
      ...agents.flatMap((a) => (a.procedureCodes ?? []).filter((c) => !PROCEDURE_ONLY.has(c.system))),
      ...Object.entries(siteCodes.medications)
        .filter(([, concept]) => ids.has(concept))
        .map(([key]) => splitCodeKey(key)),
    ],
    siteCodes,
  );
}

const PROCEDURE_ONLY: ReadonlySet<string> = new Set([SYSTEM.icd10pcs, SYSTEM.cpt]);

export interface PrefetchKey {
  /** The PatientData field the key's resources land in. */
  dataSet: DataSetName;
  /** A CDS Hooks 2.0 prefetch template: `{{context.patientId}}` is the only token used. */
  template: string;
  /**
   * A next page this search leaves unread may hide data the rules read (false for body weight:
   * the latest valid weight is on the first page; older ones are never used).
   */
  truncationMatters: boolean;
  /**
   * Adds to another key's data (the therapy doses also come with all administrations): when the
   * EHR did not prefetch it and gave no fhirServer, the call goes on without it instead of a 412,
   * so an EHR registered with an older discovery document keeps working.
   */
  supplementary?: boolean;
}

const PATIENT = '{{context.patientId}}';

/** The prefetch keys for the code lists and a site's code mapping, in the order the data layer reports them. */
export function prefetchKeys(siteCodes: SiteCodes, codes: CodeIndex = DEFAULT_CODE_INDEX) {
  const vitals = observationTokens(
    (kind) => kind !== 'body-weight' && !LAB_KINDS.has(kind),
    siteCodes,
    codes,
  );
  const labs = [
    ...observationTokens((kind) => LAB_KINDS.has(kind), siteCodes, codes),
    ...searchTokens(codes.codes('body-fluid-cultures'), siteCodes),
  ];
  const weight = observationTokens((kind) => kind === 'body-weight', siteCodes, codes);
  const panelsAndDevice = searchTokens(
    [...codes.codes('blood-pressure-panels'), ...codes.codes('oxygen-delivery-observations')],
    siteCodes,
  );
  return {
    patient: { dataSet: 'patient', template: `Patient/${PATIENT}`, truncationMatters: true },
    vitals: {
      dataSet: 'vitals',
      template: `Observation?patient=${PATIENT}&code=${[...vitals, ...panelsAndDevice].join(',')}&_sort=-date&_count=500`,
      truncationMatters: true,
    },
    // Weight is asked for alone, with a few older ones: a busy ICU chart can push the last weight
    // past the vitals bound, and the newest may be entered in error or implausible.
    bodyWeight: {
      dataSet: 'vitals',
      template: `Observation?patient=${PATIENT}&code=${weight.join(',')}&_sort=-date&_count=10`,
      truncationMatters: false,
    },
    labs: {
      dataSet: 'labs',
      template: `Observation?patient=${PATIENT}&code=${labs.join(',')}&_sort=-date&_count=200`,
      truncationMatters: true,
    },
    // Not filtered by code: real hospitals code these with local formulary codes (see MIMIC).
    // `_include` brings referenced Medications (a product known only through its Medication); an
    // EHR that cannot include them leaves them to the data layer's own Medication search.
    medicationAdministrations: {
      dataSet: 'medicationAdministrations',
      template: `MedicationAdministration?patient=${PATIENT}&_sort=-effective-time&_count=500&_include=MedicationAdministration:medication`,
      truncationMatters: true,
    },
    // The therapy dose by its codes, on its own: hundreds of newer ICU administrations can never
    // push it off the page above.
    therapyAdministrations: {
      dataSet: 'medicationAdministrations',
      template: `MedicationAdministration?patient=${PATIENT}&code=${therapyTokens(siteCodes, codes).join(',')}&_sort=-effective-time&_count=50`,
      truncationMatters: true,
      supplementary: true,
    },
    // Not filtered by code: ICD-10-CM A40/A41 are code families a token search cannot prefix-match.
    conditions: {
      dataSet: 'conditions',
      template: `Condition?patient=${PATIENT}&_sort=-recorded-date&_count=200`,
      truncationMatters: true,
    },
    procedures: {
      dataSet: 'procedures',
      template: `Procedure?patient=${PATIENT}&_sort=-date&_count=100`,
      truncationMatters: true,
    },
    encounters: {
      dataSet: 'encounters',
      template: `Encounter?patient=${PATIENT}&_sort=-date&_count=20`,
      truncationMatters: true,
    },
  } as const satisfies Record<string, PrefetchKey>;
}

/** Prefetch keys with no site mapping (the built-in codes only). */
export const PREFETCH_KEYS = prefetchKeys(EMPTY_SITE_CODES);

export type PrefetchKeyName = keyof typeof PREFETCH_KEYS;
export const PREFETCH_KEY_NAMES = Object.keys(PREFETCH_KEYS) as PrefetchKeyName[];
export type PrefetchKeys = Record<PrefetchKeyName, PrefetchKey>;

const keysByRules = new WeakMap<CodeIndex, WeakMap<SiteCodes, PrefetchKeys>>([
  [DEFAULT_CODE_INDEX, new WeakMap([[EMPTY_SITE_CODES, PREFETCH_KEYS]])],
]);

/**
 * The prefetch keys of the running service's code lists and site mapping (built once per pair):
 * discovery publishes them and the FHIR fallback searches with them, so a site code (SITE_CODES or
 * SITE_VALUESETS) is both asked of the EHR and fetched when the EHR did not prefetch.
 */
export function prefetchKeysFor(rules: Pick<CrsRuleConfig, 'siteCodes' | 'codes'>): PrefetchKeys {
  const bySite = keysByRules.get(rules.codes) ?? new WeakMap<SiteCodes, PrefetchKeys>();
  keysByRules.set(rules.codes, bySite);
  let keys = bySite.get(rules.siteCodes);
  if (!keys) {
    keys = prefetchKeys(rules.siteCodes, rules.codes);
    bySite.set(rules.siteCodes, keys);
  }
  return keys;
}

export interface CdsServiceDefinition {
  hook: string;
  id: string;
  title: string;
  description: string;
  prefetch: Record<string, string>;
  usageRequirements?: string;
}

/** The service definition for a site's code mapping (its own codes reach the templates). */
export function crsSentinelService(keys: PrefetchKeys = PREFETCH_KEYS): CdsServiceDefinition {
  return {
    ...CRS_SENTINEL_SERVICE,
    prefetch: Object.fromEntries(PREFETCH_KEY_NAMES.map((k) => [k, keys[k].template])),
  };
}

export const CRS_SENTINEL_SERVICE: CdsServiceDefinition = {
  hook: PATIENT_VIEW_HOOK,
  id: CRS_SENTINEL_SERVICE_ID,
  title: 'CRS sentinel: cytokine release syndrome after CAR-T, bispecifics or in sepsis',
  description:
    'Reads recent vital signs, oxygen support and medication administrations; when a recent CAR-T or ' +
    'T-cell-engaging bispecific dose (or a sepsis context) meets CRS-consistent vitals, returns an ' +
    'advisory card with the ASTCT 2019 grade, the evidence and what guidelines advise considering.',
  prefetch: Object.fromEntries(PREFETCH_KEY_NAMES.map((k) => [k, PREFETCH_KEYS[k].template])),
  usageRequirements:
    'Needs read access to Patient, Observation, MedicationAdministration, Medication, Condition, ' +
    'Procedure and Encounter for the patient in context. Cards link to the CRS trend view, a SMART ' +
    'app served by this service: register its launch URL <service>/app/launch.html, redirect URL ' +
    '<service>/app/index.html, client id crs-sentinel-trend-view and read-only patient scopes ' +
    '(docs/registration.md).',
};
