/**
 * `npm run fixtures:load -- --fhir <base> [options]`: the command line of the fixture loader
 * (./fixture-loader.ts). Kept apart from scripts/fixtures-load.ts so tests can run it in-process.
 * Errors are one line on stderr and exit code 1 (2 for a usage error); never a stack trace, never
 * the token.
 */
import { parseArgs } from 'node:util';
import type { FixtureExpectation } from '../fixtures/fixture-manifest.js';
import {
  DEFAULT_TIMEOUT_MS,
  deleteRun,
  FixtureLoaderError,
  listRun,
  loadFixtures,
  type LoadResult,
} from './fixture-loader.js';

export const USAGE = `usage: npm run fixtures:load -- --fhir <FHIR R4 base URL> [options]

  load the fixture patients (a new run, printed with the patient ids it created):
      --fhir <base> [--only <text in the fixture patient id>] [--now <ISO time>]
  list what a run created:
      --fhir <base> --list --run <run tag>
  delete exactly what a run created:
      --fhir <base> --delete --run <run tag>

  --token <bearer>   access token for the FHIR server (or set FHIR_TOKEN; never printed)
  --timeout <ms>     per-request deadline (default ${DEFAULT_TIMEOUT_MS})
  --json             machine-readable output
`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env?: Record<string, string | undefined>;
}

/** Runs the command line; resolves to the process exit code. */
export async function runFixtureLoaderCli(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        fhir: { type: 'string' },
        token: { type: 'string' },
        only: { type: 'string' },
        now: { type: 'string' },
        run: { type: 'string' },
        list: { type: 'boolean', default: false },
        delete: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // An unknown or malformed flag is one line (issue 10); --help prints the usage.
    io.stderr(
      `fixtures:load: ${error instanceof Error ? error.message : String(error)} (--help for usage)\n`,
    );
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const usageError = (message: string): number => {
    io.stderr(`fixtures:load: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (values.fhir === undefined) return usageError('--fhir <FHIR R4 base URL> is required');
  if (values.list && values.delete) return usageError('--list and --delete do not go together');
  if ((values.list || values.delete) && values.run === undefined) {
    return usageError(`--${values.list ? 'list' : 'delete'} needs --run <run tag>`);
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    timeoutMs = Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      return usageError('--timeout takes a positive number of ms');
  }
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime())) return usageError(`--now is not a date: ${values.now}`);
  }
  const token = values.token ?? io.env?.FHIR_TOKEN;
  const tokenOption = token === undefined || token === '' ? undefined : token;
  const fhir = values.fhir;

  try {
    if (values.list) {
      const listing = await listRun(fhir, values.run ?? '', tokenOption, { timeoutMs });
      if (values.json) {
        io.stdout(`${JSON.stringify(listing, null, 2)}\n`);
      } else {
        io.stdout(`run ${listing.runTag} on ${fhir}: ${listing.resources.length} resources\n`);
        for (const [type, count] of Object.entries(listing.counts))
          io.stdout(`  ${type.padEnd(26)} ${count}\n`);
        if (listing.patients.length > 0)
          io.stdout(`patients:\n${listing.patients.map((id) => `  ${id}\n`).join('')}`);
      }
      return 0;
    }
    if (values.delete) {
      const result = await deleteRun(fhir, values.run ?? '', tokenOption, { timeoutMs });
      if (values.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        io.stdout(`run ${result.runTag} on ${fhir}: deleted ${result.total} resources\n`);
        for (const [type, count] of Object.entries(result.deleted))
          io.stdout(`  ${type.padEnd(26)} ${count}\n`);
        if (result.alreadyGone > 0) io.stdout(`  (${result.alreadyGone} were already gone)\n`);
      }
      return 0;
    }
    const result = await loadFixtures({
      fhirBase: fhir,
      token: tokenOption,
      now,
      only: values.only,
      runTag: values.run,
      timeoutMs,
    });
    io.stdout(
      values.json ? `${JSON.stringify(jsonLoadOutput(result), null, 2)}\n` : formatLoadResult(result, fhir),
    );
    return 0;
  } catch (error) {
    const message =
      error instanceof FixtureLoaderError ? error.message : `unexpected failure: ${String(error)}`;
    io.stderr(`fixtures:load: ${tokenOption ? message.split(tokenOption).join('[token]') : message}\n`);
    return 1;
  }
}

export function jsonLoadOutput(result: LoadResult): {
  run: string;
  mode: LoadResult['mode'];
  resources: number;
  patients: { id: string; fixturePatientId: string; file: string; expected: FixtureExpectation }[];
} {
  return {
    run: result.runTag,
    mode: result.mode,
    resources: result.resources,
    patients: result.patients.map((p) => ({
      id: p.patientId,
      fixturePatientId: p.fixturePatientId,
      file: p.file,
      expected: p.expected,
    })),
  };
}

/** `crs grade 2 critical (car-t)`, `data-gap info (car-t)`, `no card`. */
export function describeExpected(expected: FixtureExpectation): string {
  switch (expected.card) {
    case 'crs':
      return `crs grade ${expected.grade} ${expected.indicator} (${expected.context.join(', ')})`;
    case 'afebrile':
    case 'sepsis':
    case 'data-gap':
      return `${expected.card} ${expected.indicator} (${expected.context.join(', ')})`;
    case 'none':
      return 'no card';
  }
}

export function formatLoadResult(result: LoadResult, fhir: string): string {
  const rows = result.patients.map((p) => [p.patientId, describeExpected(p.expected), truncate(p.story, 70)]);
  const header = ['patient id', 'expected card', 'story'];
  const widths = [0, 1].map((i) => Math.max(header[i]?.length ?? 0, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string =>
    `${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c)).join('  ')}\n`;
  const how =
    result.mode === 'transaction' ? 'transactions' : 'individual PUTs (the server refused transactions)';
  return (
    `loaded ${result.patients.length} fixture patients (${result.resources} resources) into ${fhir} with ${how}\n` +
    `run tag: ${result.runTag}\n\n` +
    line(header) +
    rows.map(line).join('') +
    `\nlist:   npm run fixtures:load -- --fhir ${fhir} --list --run ${result.runTag}\n` +
    `delete: npm run fixtures:load -- --fhir ${fhir} --delete --run ${result.runTag}\n`
  );
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
