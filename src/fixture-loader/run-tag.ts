/**
 * Run tags: every load of the fixture patients into a FHIR server is one "run", named by a tag such
 * as `crs-sentinel-run-202501151200-k3x9qa` (UTC minute of the run and 6 random characters). The
 * tag is written as a `meta.tag` coding on every resource the run writes, and the run's short id
 * (`crs-202501151200-k3x9qa`) replaces the fixture id prefix `crs-fx-`, so two runs on a shared
 * public server never collide and a run can be listed and deleted by its tag alone.
 */
import { randomInt } from 'node:crypto';
import type { Coding } from 'fhir/r4';

/** The `meta.tag` system of run tags. */
export const RUN_TAG_SYSTEM = 'https://crs-sentinel.org/fixture-run';

const RUN_TAG = /^crs-sentinel-run-(\d{12})-([a-z0-9]{6})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class RunTagError extends Error {
  override name = 'RunTagError';
}

/** A fresh run tag for a run started at `at` (the wall clock by default). */
export function makeRunTag(
  at: Date = new Date(),
  random: () => number = () => randomInt(ALPHABET.length),
): string {
  const stamp = [
    at.getUTCFullYear(),
    at.getUTCMonth() + 1,
    at.getUTCDate(),
    at.getUTCHours(),
    at.getUTCMinutes(),
  ]
    .map((n, i) => String(n).padStart(i === 0 ? 4 : 2, '0'))
    .join('');
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[random() % ALPHABET.length] ?? 'x';
  return `crs-sentinel-run-${stamp}-${suffix}`;
}

/** Throws a RunTagError unless `tag` is a run tag made by makeRunTag. */
export function checkRunTag(tag: string): string {
  if (!RUN_TAG.test(tag)) {
    throw new RunTagError(
      `not a run tag: ${JSON.stringify(tag)} (expected crs-sentinel-run-<yyyymmddhhmm>-<6 letters/digits>, as printed by the load)`,
    );
  }
  return tag;
}

/** The run's id prefix: `crs-sentinel-run-202501151200-k3x9qa` → `crs-202501151200-k3x9qa`. */
export function runIdPrefix(tag: string): string {
  const m = RUN_TAG.exec(checkRunTag(tag));
  return `crs-${m?.[1] ?? ''}-${m?.[2] ?? ''}`;
}

/** The `meta.tag` coding of a run. */
export function runTagCoding(tag: string): Coding {
  return { system: RUN_TAG_SYSTEM, code: checkRunTag(tag), display: 'crs-sentinel fixture run' };
}

/** The `_tag` search value of a run: `system|code`. */
export function runTagSearchValue(tag: string): string {
  return `${RUN_TAG_SYSTEM}|${checkRunTag(tag)}`;
}

/** True when the resource's meta.tag carries the run's coding. */
export function carriesRunTag(
  resource: { meta?: { tag?: Coding[] | undefined } | undefined },
  tag: string,
): boolean {
  return (resource.meta?.tag ?? []).some((c) => c.system === RUN_TAG_SYSTEM && c.code === tag);
}
