/**
 * The FHIR R4 ValueSet resources the code lists are kept in (folder `valuesets/`, one list each;
 * a site extends them with its own, the format hospitals keep, e.g. VSAC exports): the subset of
 * https://hl7.org/fhir/R4/valueset.html the engine reads, checked with zod. Elements the engine
 * does not read (meta, text, identifier, expansion, jurisdiction, ...) are allowed and ignored.
 *
 * Conventions of this project (docs/clinical-logic.md, "Code lists"):
 * - A drug is an *agent*: a concept of the code system AGENT_SYSTEM whose `display` is the name
 *   shown on cards and whose `designation`s with `use` NAME_MATCH_USE are the generic, brand and
 *   common names matched as whole words in text (for data without codes). [DESIGN] designation
 *   rather than an extension: it is FHIR's own element for other names of a concept.
 * - A code of any other system in a medication list names its agent with the extension
 *   AGENT_EXTENSION (`valueCode`: the agent's code).
 * - A code family (ICD-10-CM A41.x) is a `filter` with `op: "is-a"`; ICD codes compare without
 *   dots.
 * Pure: no I/O (the files are read by src/config/value-sets.ts or imported as JSON).
 */
import { z } from 'zod';

const BASE = 'https://crs-sentinel.org/fhir';
export const VALUE_SET_BASE = `${BASE}/ValueSet/`;
export const AGENT_SYSTEM = `${BASE}/CodeSystem/agent`;
export const AGENT_EXTENSION = `${BASE}/StructureDefinition/agent`;
export const NAME_MATCH_USE = { system: `${BASE}/CodeSystem/designation-use`, code: 'name-match' } as const;

const text = z.string().trim().min(1);

const codingSchema = z.object({ system: text.optional(), code: text, display: z.string().optional() });

const conceptSchema = z.object({
  code: text,
  display: z.string().optional(),
  designation: z
    .array(z.object({ language: z.string().optional(), use: codingSchema.optional(), value: text }))
    .optional(),
  extension: z.array(z.object({ url: text, valueCode: z.string().optional() })).optional(),
});

const includeSchema = z
  .object({
    system: text,
    version: z.string().optional(),
    concept: z.array(conceptSchema).min(1).optional(),
    filter: z
      .array(
        z.object({
          property: z.literal('concept', { error: 'only the property "concept" is supported' }),
          op: z.literal('is-a', { error: 'only the filter op "is-a" is supported' }),
          value: text,
        }),
      )
      .min(1)
      .optional(),
    valueSet: z.never({ error: 'including other value sets is not supported: list the codes' }).optional(),
  })
  .refine((i) => i.concept !== undefined || i.filter !== undefined, {
    error: 'needs concept or filter (a whole code system cannot be included)',
  });

export const valueSetSchema = z.object({
  resourceType: z.literal('ValueSet', { error: 'expected "ValueSet"' }),
  id: z.string().optional(),
  url: text,
  version: z.string().optional(),
  name: z.string().regex(/^[A-Z][A-Za-z0-9_]{0,254}$/, {
    error: 'name: a computer-friendly name (FHIR: starts with a capital letter, letters and digits)',
  }),
  title: text,
  status: z.enum(['draft', 'active', 'retired', 'unknown']),
  description: text,
  compose: z.object({ include: z.array(includeSchema).min(1), exclude: z.never().optional() }),
});

export type ValueSet = z.infer<typeof valueSetSchema>;
export type ValueSetConcept = z.infer<typeof conceptSchema>;

/** Validates one parsed ValueSet; throws an Error whose message is one line naming the problem. */
export function parseValueSet(input: unknown): ValueSet {
  const result = valueSetSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new Error(`${where}${issue?.message ?? 'not a valid ValueSet'}`);
}

/** The agent a non-agent code names (AGENT_EXTENSION), if any. */
export function agentOf(concept: ValueSetConcept): string | undefined {
  return concept.extension?.find((e) => e.url === AGENT_EXTENSION)?.valueCode;
}

/** The names of an agent concept matched in text (designations of use NAME_MATCH_USE). */
export function matchNames(concept: ValueSetConcept): string[] {
  return (concept.designation ?? [])
    .filter((d) => d.use?.system === NAME_MATCH_USE.system && d.use.code === NAME_MATCH_USE.code)
    .map((d) => d.value);
}
