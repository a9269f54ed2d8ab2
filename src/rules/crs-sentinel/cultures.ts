/**
 * Cultures drawn (blood and other body fluids): only their times matter, to pair them with
 * antimicrobials for Sepsis-3's "suspected infection" (sepsis-context.ts).
 */
import type { Observation } from 'fhir/r4';
import { canonicalSystem, codingsOf } from './fhir-values.js';
import { observationTime } from './normalize-observations.js';
import type { CodeIndex } from './code-index.js';
import { UNUSABLE_OBSERVATION_STATUSES } from './rule-tables.js';
import type { SiteCodes } from './site-codes.js';
import { perResource, type ResourceMemo } from './per-resource-memo.js';

/** Times (ms) of the cultures among these Observations, sorted. */
export function cultureTimes(
  observations: readonly Observation[],
  siteCodes: SiteCodes,
  codes: CodeIndex,
  memo?: ResourceMemo,
): number[] {
  const times: number[] = [];
  for (const obs of observations) {
    const ms = cultureMs(obs, siteCodes, codes, memo);
    if (ms !== undefined) times.push(ms);
  }
  return times.sort((a, b) => a - b);
}

/** When this Observation is a usable culture, the time it was drawn (ms). */
const cultureMs = perResource((obs: Observation, siteCodes, codes): number | undefined => {
  if (UNUSABLE_OBSERVATION_STATUSES.includes(obs.status)) return undefined;
  const isCulture = codingsOf(obs.code).some((c) =>
    codes.has('body-fluid-cultures', canonicalSystem(c.system, siteCodes), c.code),
  );
  const time = isCulture ? observationTime(obs) : undefined;
  return time ? Date.parse(time.time) : undefined;
});
