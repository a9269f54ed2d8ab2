/**
 * Remembers a pure function of one FHIR resource and the code lists, per resource object: a
 * replay hands the engine the same resources at every hourly step (src/replay/time-travel.ts),
 * and classifying each of them again was most of its cost. Pure memoization: the same input
 * always gives the same value; a WeakMap keeps no resource alive; callers never mutate a value.
 */
import type { CodeIndex } from './code-index.js';
import type { SiteCodes } from './site-codes.js';

export type PerResource<R extends object, T> = (resource: R, siteCodes: SiteCodes, codes: CodeIndex) => T;

export function perResource<R extends object, T>(compute: PerResource<R, T>): PerResource<R, T> {
  const cache = new WeakMap<R, { siteCodes: SiteCodes; codes: CodeIndex; value: T }>();
  return (resource, siteCodes, codes) => {
    const hit = cache.get(resource);
    if (hit && hit.siteCodes === siteCodes && hit.codes === codes) return hit.value;
    const value = compute(resource, siteCodes, codes);
    cache.set(resource, { siteCodes, codes, value });
    return value;
  };
}
