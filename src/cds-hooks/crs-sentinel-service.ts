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
import {
  BISPECIFICS,
  CAR_T_PRODUCTS,
  CULTURE_LOINC,
  LOINC_OXYGEN_DEVICE,
  LOINC_PANELS,
  LOINC_READING_KIND,
  SYSTEM,
  type ReadingKind,
} from '../rules/crs-sentinel/rule-tables.js';
import { EMPTY_SITE_CODES, type SiteCodes } from '../rules/crs-sentinel/site-codes.js';

export const CRS_SENTINEL_SERVICE_ID = 'crs-sentinel';
export const PATIENT_VIEW_HOOK = 'patient-view';

/**
 * The Observation codes to ask for come from the rules' own code table (rule-tables.ts) and the
 * site's own observation codes (SITE_CODES), so a code the rules learn is fetched too: lab kinds
 * (and cultures) go to `labs`, body weight to `bodyWeight`, every other reading kind (with the BP
 * panels and the oxygen-device code) to `vitals`.
 */
const LAB_KINDS: ReadonlySet<ReadingKind> = new Set(['lactate', 'il-6', 'crp', 'ferritin', 'wbc']);

function observationTokens(keep: (kind: ReadingKind) => boolean, siteCodes: SiteCodes): string[] {
  const loinc = Object.entries(LOINC_READING_KIND)
    .filter(([, kind]) => keep(kind))
    .map(([code]) => ({ system: SYSTEM.loinc, code }));
  const site = Object.entries(siteCodes.observations)
    .filter(([, kind]) => keep(kind))
    .map(([key]) => splitCodeKey(key));
  return searchTokens([...loinc, ...site], siteCodes);
}

const loincCodes = (codes: readonly string[]) => codes.map((code) => ({ system: SYSTEM.loinc, code }));

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
function searchTokens(codings: readonly { system: string; code: string }[], siteCodes: SiteCodes): string[] {
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
function therapyTokens(siteCodes: SiteCodes): string[] {
  const agents = [...CAR_T_PRODUCTS, ...BISPECIFICS];
  const ids = new Set(agents.map((a) => a.id));
  return searchTokens(
    [
      ...agents.flatMap((a) => a.rxnorm.map((code) => ({ system: SYSTEM.rxnorm, code }))),
      ...agents.flatMap((a) => (a.procedureCodes ?? []).filter((c) => c.system === SYSTEM.hcpcs)),
      ...Object.entries(siteCodes.medications)
        .filter(([, concept]) => ids.has(concept))
        .map(([key]) => splitCodeKey(key)),
    ],
    siteCodes,
  );
}

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

/** The prefetch keys for a site's code mapping, in the order the data layer reports them. */
export function prefetchKeys(siteCodes: SiteCodes) {
  const vitals = observationTokens((kind) => kind !== 'body-weight' && !LAB_KINDS.has(kind), siteCodes);
  const labs = [
    ...observationTokens((kind) => LAB_KINDS.has(kind), siteCodes),
    ...searchTokens(loincCodes(CULTURE_LOINC), siteCodes),
  ];
  const weight = observationTokens((kind) => kind === 'body-weight', siteCodes);
  return {
    patient: { dataSet: 'patient', template: `Patient/${PATIENT}`, truncationMatters: true },
    vitals: {
      dataSet: 'vitals',
      template: `Observation?patient=${PATIENT}&code=${[...vitals, ...searchTokens(loincCodes([...LOINC_PANELS, LOINC_OXYGEN_DEVICE]), siteCodes)].join(',')}&_sort=-date&_count=500`,
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
      template: `MedicationAdministration?patient=${PATIENT}&code=${therapyTokens(siteCodes).join(',')}&_sort=-effective-time&_count=50`,
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

const keysBySite = new WeakMap<SiteCodes, PrefetchKeys>([[EMPTY_SITE_CODES, PREFETCH_KEYS]]);

/**
 * The prefetch keys of the running service's site mapping (built once per mapping): discovery
 * publishes them and the FHIR fallback searches with them, so a site code mapped in SITE_CODES is
 * both asked of the EHR and fetched when the EHR did not prefetch.
 */
export function prefetchKeysFor(siteCodes: SiteCodes): PrefetchKeys {
  let keys = keysBySite.get(siteCodes);
  if (!keys) {
    keys = prefetchKeys(siteCodes);
    keysBySite.set(siteCodes, keys);
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
