/**
 * The code lists at start: the built-in FHIR ValueSets (`valuesets/`, imported by the pure core)
 * are validated again, and a site's own ValueSets (SITE_VALUESETS, a folder of `*.json` files,
 * e.g. VSAC exports) are read, validated and added: a file whose `url` is a built-in list extends
 * that list. Any problem stops the start with one line naming the file and the problem (a
 * ConfigError), never a stack trace.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  agentsOf,
  buildCodeIndex,
  valueSetProblems,
  type CodeIndex,
} from '../rules/crs-sentinel/code-index.js';
import { BUILT_IN_VALUE_SET_FILES, DEFAULT_CODE_INDEX } from '../rules/crs-sentinel/default-value-sets.js';
import { parseValueSet, type ValueSet } from '../rules/crs-sentinel/value-set.js';
import { describeJsonError, parseJsonText } from './json-text.js';
import { ConfigError } from './load-config.js';
import { oneLine } from './startup.js';

const VARIABLE = 'SITE_VALUESETS';

interface Named {
  where: string;
  valueSet: ValueSet;
}

/** The index of the built-in lists and the site's (`siteDir`: SITE_VALUESETS, resolved). */
export function loadCodeIndex(siteDir: string | undefined): CodeIndex {
  return loadCodeLists(siteDir).codes;
}

/** The index, and the site's own ValueSets as validated (published to the trend view). */
export function loadCodeLists(siteDir: string | undefined): { codes: CodeIndex; siteValueSets: ValueSet[] } {
  const builtIn = BUILT_IN_VALUE_SET_FILES.map(({ file, json }) =>
    validated(`built-in value set valuesets/${file}`, json, 'restore the file from the release'),
  );
  const site = siteDir === undefined ? [] : readSiteValueSets(siteDir);
  const all = [...builtIn, ...site];
  const agents = agentsOf(all.map((n) => n.valueSet));
  for (const { where, valueSet } of all) {
    const [problem] = valueSetProblems(valueSet, agents);
    if (problem !== undefined) throw new ConfigError(`${where}: ${problem}`);
  }
  return {
    codes: site.length === 0 ? DEFAULT_CODE_INDEX : buildCodeIndex(all.map((n) => n.valueSet)),
    siteValueSets: site.map((n) => n.valueSet),
  };
}

function readSiteValueSets(dir: string): Named[] {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    files = readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.json'))
      .sort();
  } catch (error) {
    throw new ConfigError(
      `${VARIABLE}: ${JSON.stringify(dir)} cannot be read as a folder (${errorCode(error)}): set ${VARIABLE} to a folder of FHIR ValueSet JSON files or unset it`,
    );
  }
  return files.map((file) => {
    const full = path.join(dir, file);
    const where = `${VARIABLE}: ${JSON.stringify(full)}`;
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (error) {
      throw new ConfigError(`${where} cannot be read (${errorCode(error)})`);
    }
    const parsed = parseJsonText(text);
    if (!parsed.ok) throw new ConfigError(`${where}: ${describeJsonError(parsed)}`);
    return validated(where, parsed.value, 'see docs/clinical-logic.md, "Code lists"');
  });
}

function validated(where: string, json: unknown, fix: string): Named {
  try {
    return { where, valueSet: parseValueSet(json) };
  } catch (error) {
    throw new ConfigError(
      `${where}: not a valid FHIR ValueSet: ${oneLine(error instanceof Error ? error.message : String(error))} (${fix})`,
    );
  }
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}
