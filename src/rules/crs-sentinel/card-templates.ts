/**
 * Card content as data (cards/crs-sentinel/*.json): summary patterns, detail texts, links,
 * override reasons and suggestion texts. This module holds the schema (pure); the loader that
 * reads the files is src/cards/load-card-templates.ts.
 *
 * Texts may use {placeholders}; only the names in PLACEHOLDERS are allowed, so a typo fails at
 * start instead of showing "{agnet}" to a clinician.
 */
import { z } from 'zod';

export const PLACEHOLDERS = [
  'grade',
  'evidence',
  'context',
  'agent',
  'day',
  'hours',
  'window',
  'doseMg',
  'mgPerKg',
  'weightKg',
  'maxDoseMg',
  'maxPer24h',
  'maxTotal',
  'minHours',
  'sets',
  'reason',
] as const;

const ALLOWED = new Set<string>(PLACEHOLDERS);

const text = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    for (const match of value.matchAll(/\{([^{}]*)\}/g)) {
      const name = match[1] ?? '';
      if (!ALLOWED.has(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {${name}} (allowed: ${PLACEHOLDERS.join(', ')})`,
        });
      }
    }
  });

const link = z.strictObject({ label: z.string().min(1), url: z.url({ protocol: /^https$/ }) });
const coding = z.strictObject({
  system: z.string().min(1),
  code: z.string().min(1),
  display: z.string().min(1),
});

export const crsCardTemplateSchema = z.strictObject({
  source: z.strictObject({ label: z.string().min(1), url: z.url({ protocol: /^https$/ }), topic: coding }),
  summary: z.strictObject({
    therapy: text,
    afebrile: text,
    sepsis: text,
    dataGap: text,
    dataGapTemperature: text,
    dataGapTruncated: text,
  }),
  contextPhrase: z.strictObject({
    carT: text,
    carTExtended: text,
    bispecific: text,
  }),
  detail: z.strictObject({
    evidenceHeading: text,
    ruleHeading: text,
    missingHeading: text,
    labsHeading: text,
    considerHeading: text,
    infectionWorkup: text,
    infectionWorkupSepsis: text,
    afebrileBody: text,
    afebrileConsider: text,
    sepsisBody: text,
    dataGapTemperatureBody: text,
    notUsedHeading: text,
    tocilizumab: text,
    tocilizumabBlocked: text,
    steroidsGrade2: text,
    steroidsGrade3: text,
    steroidsGrade4: text,
    bispecificLabel: text,
    sepsisCaveat: text,
    sepsisManagement: text,
    sepsisNoAntimicrobial: text,
    extendedWindow: text,
    advisory: text,
    dataGapBody: text,
    dataGapTruncatedBody: text,
  }),
  links: z.strictObject({
    guideline: link,
    sepsis: link,
    tocilizumabLabel: link,
    /** The label of the SMART link to the CRS trend view (its URL is the service's, from config). */
    trendView: z.strictObject({ label: text }).optional(),
  }),
  overrideReasons: z.array(coding).min(1),
  suggestions: z.strictObject({
    tocilizumab: z.strictObject({ label: text, description: text, dosageText: text }),
    bloodCultures: z.strictObject({ label: text, description: text, code: coding }),
  }),
});

export const productLabelsSchema = z.record(z.string().min(1), link);

export type CrsCardTemplate = z.infer<typeof crsCardTemplateSchema>;

export interface CrsCardTemplates {
  crs: CrsCardTemplate;
  /** Medication concept id (rule-tables) -> its product label. */
  productLabels: Readonly<Record<string, { label: string; url: string }>>;
}

/** Validates parsed template JSON; `name` (a file path) is named in the error. */
export function parseCardTemplate<T>(schema: z.ZodType<T>, input: unknown, name: string): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`Invalid card template ${name}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

/** Replaces {placeholders}; every placeholder used must be supplied. */
export function fillTemplate(
  template: string,
  values: Partial<Record<(typeof PLACEHOLDERS)[number], string | number>>,
): string {
  return template.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    const value = values[name as (typeof PLACEHOLDERS)[number]];
    if (value === undefined) throw new Error(`card template placeholder {${name}} has no value`);
    return String(value);
  });
}
