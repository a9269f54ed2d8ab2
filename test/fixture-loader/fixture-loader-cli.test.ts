/**
 * The fixture loader's command line, run in-process against the embedded sandbox: the load table
 * and --json output, --list and --delete, usage errors, and one-line errors (exit code 1, no stack
 * trace, never the token) for a server that hangs or redirects.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFixtureLoaderCli } from '../../src/fixture-loader/fixture-loader-cli.js';
import { startFhirSandbox, type FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';

let sandbox: FhirSandbox;
const servers: Server[] = [];

beforeAll(async () => {
  sandbox = await startFhirSandbox({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await sandbox.close();
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runFixtureLoaderCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
  });
  return { code, stdout, stderr };
}

async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
}

describe('fixtures:load command line', () => {
  it('loads, prints the table, lists and deletes by run tag', async () => {
    const load = await cli(
      '--fhir',
      sandbox.baseUrl,
      '--only',
      'cart-grade',
      '--now',
      '2026-01-01T00:00:00Z',
    );
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    const runTag = /run tag: (crs-sentinel-run-\d{12}-[a-z0-9]{6})/.exec(load.stdout)?.[1];
    expect(runTag).toBeDefined();
    expect(load.stdout).toMatch(/with transactions/);
    expect(load.stdout).toMatch(
      /crs-\d{12}-[a-z0-9]{6}-cart-grade2-patient +crs grade 2 critical \(car-t\) +Day 3/,
    );
    expect(load.stdout).toContain(`--delete --run ${runTag ?? ''}`);

    const list = await cli('--fhir', sandbox.baseUrl, '--list', '--run', runTag!, '--json');
    expect(list.code).toBe(0);
    const listing = JSON.parse(list.stdout) as { patients: string[]; counts: Record<string, number> };
    expect(listing.patients).toHaveLength(4); // cart-grade1..4
    expect(listing.counts.Observation).toBeGreaterThan(0);

    const del = await cli('--fhir', sandbox.baseUrl, '--delete', '--run', runTag!);
    expect(del.code).toBe(0);
    expect(del.stdout).toMatch(new RegExp(`run ${runTag ?? ''} on .*: deleted \\d+ resources`));
    expect(del.stdout).toMatch(/Patient +4/);
    const after = await cli('--fhir', sandbox.baseUrl, '--list', '--run', runTag!);
    expect(after.stdout).toMatch(/: 0 resources/);
  });

  it('prints machine-readable output with --json', async () => {
    const load = await cli('--fhir', sandbox.baseUrl, '--only', 'sepsis-grade2', '--json');
    expect(load.code).toBe(0);
    const out = JSON.parse(load.stdout) as {
      run: string;
      patients: { id: string; file: string; expected: { card: string } }[];
    };
    expect(out.run).toMatch(/^crs-sentinel-run-/);
    expect(out.patients).toEqual([
      expect.objectContaining({
        file: 'sepsis-hypotension-grade2.json',
        expected: expect.objectContaining({ card: 'sepsis', indicator: 'critical' }),
      }),
    ]);
    expect((await cli('--fhir', sandbox.baseUrl, '--delete', '--run', out.run)).code).toBe(0);
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('--fhir', sandbox.baseUrl, '--delete')).stderr).toMatch(/--delete needs --run/);
    expect((await cli('--fhir', sandbox.baseUrl, '--bogus')).code).toBe(2);
    expect((await cli('--fhir', sandbox.baseUrl, '--timeout', 'soon')).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
  });

  it('gives one line, exit code 1, for a server that never answers', async () => {
    const base = await httpServer(() => undefined);
    const run = await cli('--fhir', base, '--timeout', '300', '--token', 'tok-secret-42');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`fixtures:load: cannot reach ${base}: GET metadata: no answer within 300 ms\n`);
  });

  it('does not follow a redirect (the token must not travel elsewhere)', async () => {
    let hitsElsewhere = 0;
    const elsewhere = await httpServer((_req, res) => {
      hitsElsewhere++;
      res.end('{}');
    });
    const base = await httpServer((_req, res) => {
      res.writeHead(302, { location: `${elsewhere}/metadata` });
      res.end();
    });
    const run = await cli('--fhir', base, '--token', 'tok-secret-42');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /answered with a redirect \(HTTP 302 to http:\/\/127\.0\.0\.1:\d+\/fhir\/metadata\)/,
    );
    expect(run.stderr).not.toContain('tok-secret-42');
    expect(run.stderr.split('\n')).toHaveLength(2); // one line and the final newline: no stack trace
    expect(hitsElsewhere).toBe(0);
  });

  it('names a 404 at /metadata as the wrong base URL', async () => {
    const base = await httpServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not found</h1>');
    });
    const run = await cli('--fhir', base);
    expect(run.stderr).toMatch(/metadata answered HTTP 404: is .* the FHIR R4 base URL/);
  });
});
