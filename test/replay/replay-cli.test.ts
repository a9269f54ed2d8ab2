/**
 * `npm run replay` and `npm run replay-merge` as an operator runs them (the built programs, as
 * child processes): bad flags are one line; worker threads give the same report as one thread;
 * the merge of shards gives the report of one run; the HTML stands alone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/load-config.js';
import { cartAndQuietPatients, writeExport } from './constructed-export.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A private build (dist/replay-cli-test), not dist/ itself: another test file rebuilds dist/ while
 * this one runs, and a child must never load a file that is being rewritten.
 */
const BUILD = 'dist/replay-cli-test';

function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, CARDS_DIR: join(PACKAGE_ROOT, 'cards') };
    execFile(command, args, { cwd: PACKAGE_ROOT, timeout: 60_000, env }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const replay = (...args: string[]) => run('node', [`${BUILD}/scripts/replay.js`, ...args]);
const work = mkdtempSync(join(tmpdir(), 'crs-replay-cli-'));
const exportDir = writeExport(cartAndQuietPatients(), { 'Condition.ndjson': ['not json'] });
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  rmSync(join(PACKAGE_ROOT, BUILD), { recursive: true, force: true });
  const built = await run('npx', [
    'tsc',
    '-p',
    'tsconfig.build.json',
    '--outDir',
    BUILD,
    '--incremental',
    'false',
  ]);
  expect(built.stderr + built.stdout).toBe('');
}, 120_000);
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(exportDir, { recursive: true, force: true });
  rmSync(join(PACKAGE_ROOT, BUILD), { recursive: true, force: true });
});

describe('npm run replay / replay-merge', () => {
  it.each([
    [[], /^replay: --ndjson <folder of a FHIR bulk export> is required \(--help for usage\)\n$/],
    [['--ndjson', '/nonexistent-folder'], /^replay: --ndjson: \/nonexistent-folder is not a folder/],
    [
      ['--ndjson', '.', '--step', '1 hour'],
      /^replay: --step: expected a duration such as 30m, 1h or 2d, got "1 hour"/,
    ],
    [['--ndjson', '.', '--shard', '3/2'], /^replay: --shard: expected i\/N with 1 <= i <= N/],
    [['--ndjson', '.', '--workers', '0'], /^replay: --workers: expected a whole number >= 1/],
    [['--ndjson', '.', '--from', 'yesterday'], /^replay: --from: expected a date or date-time/],
    [['--ndjson', '.', '--assume-ack', 'soon'], /^replay: --assume-ack: expected a duration/],
    [['--ndjson', '.', '--governance', 'g.json'], /^replay: --governance <file> needs --assume-ack/],
    [['--bogus'], /^replay: Unknown option '--bogus'/],
  ])('%j: one line, exit 2', async (args, message) => {
    const result = await replay(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an empty folder is one line, exit 1', async () => {
    const result = await replay('--ndjson', work, '--out', join(work, 'empty'));
    expect(result.stderr).toMatch(/^replay: no \.ndjson or \.ndjson\.gz file in .*\n$/);
    expect(result.code).toBe(1);
  });

  it('writes report.json, .md, .html (standalone) and plots; workers and the merge of shards agree with one run', async () => {
    const one = await replay('--ndjson', exportDir, '--out', join(work, 'one'));
    expect(one.stderr).toBe('');
    expect(one.stdout).toMatch(
      /^replay: 2 patients, 2 stays, 1.42 patient-days, 36 steps in .* s; 0.7059 alert episodes per patient-day; 1 malformed lines; report in /,
    );
    const two = await replay('--ndjson', exportDir, '--out', join(work, 'two'), '--workers', '2');
    expect(two.code).toBe(0);
    for (const i of [1, 2]) {
      const shard = await replay(
        '--ndjson',
        exportDir,
        '--out',
        join(work, `shard${String(i)}`),
        '--shard',
        `${String(i)}/2`,
      );
      expect(shard.code).toBe(0);
    }
    const merge = await run('node', [
      `${BUILD}/scripts/replay-merge.js`,
      join(work, 'shard1'),
      join(work, 'shard2'),
      '--out',
      join(work, 'merged'),
    ]);
    expect(merge.stderr).toBe('');
    const report = readJson(join(work, 'one', 'report.json'));
    for (const other of ['two', 'merged']) {
      const r = readJson(join(work, other, 'report.json'));
      expect(r.cohort).toEqual(report.cohort);
      expect(r.patients).toEqual(report.patients);
    }
    expect(readJson(join(work, 'merged', 'report.json')).run).toMatchObject({ shards: ['1/2', '2/2'] });
    expect(readdirSync(join(work, 'one', 'plots'))).toHaveLength(1);
    const html = readFileSync(join(work, 'one', 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http|href="http|@import/);
    const md = readFileSync(join(work, 'one', 'report.md'), 'utf8');
    expect(md).toContain('| malformed: Condition.ndjson line 1 | not JSON |');
    expect(md).not.toContain('cart'); // pseudonyms only
  }, 120_000);
});
