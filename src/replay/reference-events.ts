/**
 * Reference events: the moments a replay measures time to alert against (the first of each per
 * stay). Content is data: a site can give its own list (`--events <file.json>`, same shape).
 * Pure: readings and medication events come from the engine's own normalisation and drug
 * recognition, so a reading the engine ignores (implausible, unknown unit) is no event either.
 */
import { z } from 'zod';
import type { CodeIndex } from '../rules/crs-sentinel/code-index.js';
import { DEFAULT_RULE_CONFIG } from '../rules/crs-sentinel/rule-config.js';
import { medicationEvents } from '../rules/crs-sentinel/medication-events.js';
import { normalizeObservations, type Reading } from '../rules/crs-sentinel/normalize-observations.js';
import type { PatientData } from '../rules/crs-sentinel/patient-data.js';
import type { SiteCodes } from '../rules/crs-sentinel/site-codes.js';
import { END_OF_TIME_MS } from './replay-steps.js';
import type { MedicationClass, ReadingKind } from '../rules/crs-sentinel/rule-tables.js';

const readingKinds = [
  'temperature',
  'heart-rate',
  'respiratory-rate',
  'spo2',
  'systolic-bp',
  'diastolic-bp',
  'mean-arterial-pressure',
  'oxygen-flow',
  'fio2',
  'lactate',
] as const satisfies readonly ReadingKind[];

const medicationClasses = [
  'car-t',
  'bispecific',
  'tocilizumab',
  'corticosteroid',
  'vasopressor',
  'inotrope',
  'antibiotic',
] as const satisfies readonly MedicationClass[];

const thresholdSchema = z.strictObject({
  kind: z.enum(readingKinds),
  below: z.number().optional(),
  atLeast: z.number().optional(),
});

const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    id: z.string().regex(/^[a-z0-9-]+$/),
    label: z.string().min(1),
    type: z.literal('medication-start'),
    medicationClass: z.enum(medicationClasses),
    infusionOnly: z.boolean().default(true),
  }),
  z.strictObject({
    id: z.string().regex(/^[a-z0-9-]+$/),
    label: z.string().min(1),
    type: z.literal('reading'),
    /** Any of these thresholds crossed. */
    anyOf: z.array(thresholdSchema).min(1),
  }),
]);

export const referenceEventsSchema = z.array(eventSchema).min(1);
export type ReferenceEventDefinition = z.infer<typeof eventSchema>;

/**
 * The defaults of issue 12, on the engine's own default thresholds (rule-config.ts, where their
 * sources are cited): shock treated (a vasopressor infusion starts), hypotension (SBP below the
 * ASTCT 2019 line, or MAP below the Sepsis-3 septic shock target), fever (the ASTCT 2019 fever).
 */
const { systolicBelow, meanArterialBelow, feverCelsius } = DEFAULT_RULE_CONFIG.thresholds;

export const DEFAULT_REFERENCE_EVENTS: readonly ReferenceEventDefinition[] = [
  {
    id: 'vasopressor-start',
    label: 'vasopressor infusion started',
    type: 'medication-start',
    medicationClass: 'vasopressor',
    infusionOnly: true,
  },
  {
    id: 'hypotension',
    label: `first SBP < ${systolicBelow} or MAP < ${meanArterialBelow} mmHg`,
    type: 'reading',
    anyOf: [
      { kind: 'systolic-bp', below: systolicBelow },
      { kind: 'mean-arterial-pressure', below: meanArterialBelow },
    ],
  },
  {
    id: 'fever',
    label: `first temperature >= ${feverCelsius} °C`,
    type: 'reading',
    anyOf: [{ kind: 'temperature', atLeast: feverCelsius }],
  },
];

export interface EventOccurrence {
  id: string;
  atMs: number;
}

function crosses(reading: Reading, anyOf: readonly z.infer<typeof thresholdSchema>[]): boolean {
  return anyOf.some(
    (t) =>
      t.kind === reading.kind &&
      (t.below === undefined || reading.value < t.below) &&
      (t.atLeast === undefined || reading.value >= t.atLeast),
  );
}

/** Every occurrence of every event in the patient's whole record, sorted by time. */
export function eventOccurrences(
  data: PatientData,
  definitions: readonly ReferenceEventDefinition[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
): EventOccurrence[] {
  const readings = definitions.some((d) => d.type === 'reading')
    ? normalizeObservations(data.vitals.concat(data.labs), siteCodes, codes).readings
    : [];
  const medications = definitions.some((d) => d.type === 'medication-start')
    ? medicationEvents(data, new Date(END_OF_TIME_MS), siteCodes, codes)
    : [];
  const out: EventOccurrence[] = [];
  for (const d of definitions) {
    if (d.type === 'reading') {
      for (const r of readings) if (crosses(r, d.anyOf)) out.push({ id: d.id, atMs: Date.parse(r.time) });
    } else {
      for (const m of medications)
        if (m.medicationClass === d.medicationClass && (!d.infusionOnly || m.infusion))
          out.push({ id: d.id, atMs: Date.parse(m.start) });
    }
  }
  return out.filter((o) => !Number.isNaN(o.atMs)).sort((a, b) => a.atMs - b.atMs);
}

/** The first occurrence of each event inside [startMs, endMs]. */
export function firstEventsIn(
  occurrences: readonly EventOccurrence[],
  startMs: number,
  endMs: number,
): EventOccurrence[] {
  const seen = new Set<string>();
  const out: EventOccurrence[] = [];
  for (const o of occurrences) {
    if (o.atMs < startMs || o.atMs > endMs || seen.has(o.id)) continue;
    seen.add(o.id);
    out.push(o);
  }
  return out;
}
