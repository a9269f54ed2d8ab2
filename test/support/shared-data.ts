/**
 * The real data sets in ../shared/data (MIMIC-IV demo FHIR, the SMART sample) are not part of the
 * repository: a clean clone has no such folder and the tests that read it are skipped. A skip
 * that says nothing looks like a pass, so each such test file prints one visible line when it
 * skips (issue 10, "Tests that need ../shared print one visible line when they skip").
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** ../shared/data next to the repository (where the project's shared workspace keeps it). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data', import.meta.url));

const warned = new Set<string>();

/**
 * True when `path` (default: ../shared/data) exists; otherwise prints, once per test file and
 * path, `skipped: <what>: <path> is absent` on stderr and returns false (for `describe.skipIf`).
 */
export function sharedDataAvailable(what: string, path: string = SHARED_DATA): boolean {
  if (existsSync(path)) return true;
  const line = `skipped: ${what}: ${path} is absent (real data from ../shared, not in the repository)`;
  if (!warned.has(line)) {
    warned.add(line);
    console.warn(line);
  }
  return false;
}
