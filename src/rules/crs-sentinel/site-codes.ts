/**
 * A site's local-code mapping: real EHRs send formulary and item codes instead of RxNorm, local
 * code-system URLs instead of ICD/LOINC ones. The file maps local system+code to an engine concept
 * (a medication, an oxygen-device class, a reading kind) and local systems to standard ones.
 * See config/site-codes/mimic-iv-demo.json.
 */
import { z } from 'zod';
import { DEFAULT_CODE_INDEX } from './default-value-sets.js';
import type { OxygenSupportClass, ReadingKind } from './rule-tables.js';

const READING_KINDS = [
  'temperature',
  'heart-rate',
  'respiratory-rate',
  'spo2',
  'systolic-bp',
  'diastolic-bp',
  'mean-arterial-pressure',
  'oxygen-flow',
  'fio2',
  'body-weight',
  'gcs-total',
  'lactate',
  'il-6',
  'crp',
  'ferritin',
  'wbc',
] as const satisfies readonly ReadingKind[];

const OXYGEN_CLASSES = [
  'none',
  'low-flow',
  'high-flow',
  'positive-pressure',
] as const satisfies readonly OxygenSupportClass[];

/** The built-in agents (valuesets/): a SITE_CODES medication maps to one of them. */
const KNOWN_CONCEPT_IDS = new Set(DEFAULT_CODE_INDEX.medicationConcepts.map((c) => c.id));

const localCode = { system: z.string().min(1), code: z.string().min(1) };

export const siteCodesFileSchema = z.strictObject({
  site: z.string().min(1),
  description: z.string().optional(),
  /** Local code-system URL -> standard URL (e.g. MIMIC's ICD-9 CodeSystem -> ICD-9-CM). */
  systemAliases: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Systems whose codes are drug names (matched like a display, e.g. MIMIC's medication-name). */
  nameSystems: z.array(z.string().min(1)).optional(),
  medications: z
    .array(
      z.strictObject({
        ...localCode,
        concept: z.string().refine((id) => KNOWN_CONCEPT_IDS.has(id), {
          error: (issue) =>
            `unknown medication concept "${String(issue.input)}" (known: ${[...KNOWN_CONCEPT_IDS].join(', ')})`,
        }),
        display: z.string().optional(),
        /** The code names an infusion (e.g. a premixed drip bag such as MIMIC's NORE8/250N). */
        infusion: z.boolean().optional(),
      }),
    )
    .optional(),
  oxygenDevices: z.array(z.strictObject({ ...localCode, supportClass: z.enum(OXYGEN_CLASSES) })).optional(),
  observations: z.array(z.strictObject({ ...localCode, kind: z.enum(READING_KINDS) })).optional(),
});
export type SiteCodesFile = z.infer<typeof siteCodesFileSchema>;

/** The mapping in lookup form: keys are `${system}|${code}` (system already de-aliased). */
export interface SiteCodes {
  site: string;
  systemAliases: Readonly<Record<string, string>>;
  nameSystems: readonly string[];
  medications: Readonly<Record<string, string>>;
  /** Keys (`system|code`) of medication codes that name an infusion. */
  infusions: readonly string[];
  oxygenDevices: Readonly<Record<string, OxygenSupportClass>>;
  observations: Readonly<Record<string, ReadingKind>>;
}

export const EMPTY_SITE_CODES: SiteCodes = {
  site: 'none',
  systemAliases: {},
  nameSystems: [],
  medications: {},
  infusions: [],
  oxygenDevices: {},
  observations: {},
};

export function codeKey(system: string, code: string): string {
  return `${system}|${code}`;
}

/** Validates a parsed site-codes file; throws an Error naming the bad field. */
export function parseSiteCodes(input: unknown): SiteCodes {
  const result = siteCodesFileSchema.safeParse(input);
  if (!result.success) {
    throw new Error(`Invalid site-codes mapping:\n${z.prettifyError(result.error)}`);
  }
  const file = result.data;
  const toMap = <T>(
    rows: readonly { system: string; code: string }[] | undefined,
    value: (row: never) => T,
  ) => Object.fromEntries((rows ?? []).map((row) => [codeKey(row.system, row.code), value(row as never)]));
  return {
    site: file.site,
    systemAliases: file.systemAliases ?? {},
    nameSystems: file.nameSystems ?? [],
    medications: toMap(file.medications, (row: { concept: string }) => row.concept),
    infusions: (file.medications ?? [])
      .filter((m) => m.infusion === true)
      .map((m) => codeKey(m.system, m.code)),
    oxygenDevices: toMap(file.oxygenDevices, (row: { supportClass: OxygenSupportClass }) => row.supportClass),
    observations: toMap(file.observations, (row: { kind: ReadingKind }) => row.kind),
  };
}
