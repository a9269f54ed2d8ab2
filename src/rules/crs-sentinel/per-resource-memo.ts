/**
 * Pure functions of one FHIR resource and the code lists, remembered per resource object when
 * the caller hands in a ResourceMemo. A replay hands the engine the same resources at every hourly
 * step (src/replay/time-travel.ts), and classifying each of them again was most of its cost; one
 * hook call sees each resource once, so the service passes no memo and pays nothing for it.
 * The memo is the caller's, an input like the data: the same input always gives the same value,
 * a WeakMap keeps no resource alive, and a remembered value is sealed (frozen) so no caller can
 * change what the next step reads.
 */
import type { CodeIndex } from './code-index.js';
import type { SiteCodes } from './site-codes.js';

/** A cache for one rule configuration's code lists (other lists are computed, not remembered). */
export class ResourceMemo {
  private readonly tables = new Map<object, WeakMap<object, unknown>>();

  constructor(
    readonly siteCodes: SiteCodes,
    readonly codes: CodeIndex,
  ) {}

  remember<T>(fn: object, resource: object, compute: () => T, seal: (value: T) => void): T {
    let table = this.tables.get(fn);
    if (!table) this.tables.set(fn, (table = new WeakMap()));
    if (table.has(resource)) return table.get(resource) as T;
    const value = compute();
    seal(value);
    table.set(resource, value);
    return value;
  }
}

export type PerResource<R extends object, T> = (
  resource: R,
  siteCodes: SiteCodes,
  codes: CodeIndex,
  memo?: ResourceMemo,
) => T;

/** `compute`, remembered in the memo when one is given for these code lists. */
export function perResource<R extends object, T>(
  compute: (resource: R, siteCodes: SiteCodes, codes: CodeIndex) => T,
  seal: (value: T) => void = freeze,
): PerResource<R, T> {
  const fn: PerResource<R, T> = (resource, siteCodes, codes, memo) =>
    memo && memo.siteCodes === siteCodes && memo.codes === codes
      ? memo.remember(fn, resource, () => compute(resource, siteCodes, codes), seal)
      : compute(resource, siteCodes, codes);
  return fn;
}

function freeze(value: unknown): void {
  if (typeof value === 'object' && value !== null) Object.freeze(value);
}
