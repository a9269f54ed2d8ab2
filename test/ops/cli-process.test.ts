/**
 * The built programs as an operator runs them, as child processes on 127.0.0.1 (issue 10):
 * `npm start`, `npm run demo` and `npm run sandbox` with a port in use print one line naming the
 * variable that moves it; unknown flags are one line; `npm run --silent hook -- --json` prints
 * only JSON (pipeable to jq); and the helper scripts do not rebuild when dist/ is current.
 * dist/ is brought up to date once here (`tsc -b`, incremental: about a second when current).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, PACKAGE_ROOT } from '../../src/config/load-config.js';
import type { FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import { startFixtureSandbox } from '../../src/sandbox/fixture-sandbox.js';
import { startService, type RunningService } from '../../src/server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeout = 50_000,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: PACKAGE_ROOT,
        timeout,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? tmpdir(),
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function expectOneLine(result: Run, code: number, pattern: RegExp): void {
  expect(result.stderr.trimEnd().split('\n'), JSON.stringify(result)).toHaveLength(1);
  expect(result.stderr, JSON.stringify(result)).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.code).toBe(code);
}

let tmp: string;
let busy: Server;
let busyPort: string;
beforeAll(async () => {
  const build = await run('npx', ['tsc', '-b', 'tsconfig.build.json'], {}, 120_000);
  expect(build.code, build.stdout).toBe(0);
  tmp = mkdtempSync(path.join(tmpdir(), 'crs-cli-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = String((busy.address() as AddressInfo).port);
}, 150_000);
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('one line per failure, run as child processes (concurrently: each pays a Node start-up)', () => {
  it('a port in use names the variable that moves it: npm start, the sandbox, the demo', async () => {
    const [start, startClients, sandbox, demoService, demoSandbox] = await Promise.all([
      run('npm', ['start', '--silent'], { PORT: busyPort, DATA_DIR: tmp }),
      run('npm', ['start', '--silent'], { CDS_CLIENTS: 'clients-missing.json', DATA_DIR: tmp }),
      run('node', ['dist/scripts/sandbox.js'], { FHIR_SANDBOX_PORT: busyPort }),
      run('node', ['dist/scripts/demo.js'], { PORT: busyPort, FHIR_SANDBOX_PORT: '0', DATA_DIR: tmp }),
      run('node', ['dist/scripts/demo.js'], { FHIR_SANDBOX_PORT: busyPort, DATA_DIR: tmp }),
    ]);
    expectOneLine(
      start,
      1,
      new RegExp(
        `^crs-sentinel: configuration error: PORT: port ${busyPort} on 127\\.0\\.0\\.1 is already in use.*set PORT to a free port`,
      ),
    );
    expectOneLine(startClients, 1, /CDS_CLIENTS file ".*\/clients-missing\.json" cannot be read \(ENOENT\)/);
    expectOneLine(
      sandbox,
      1,
      /^sandbox: configuration error: FHIR_SANDBOX_PORT: port \d+ on 127\.0\.0\.1 is already in use.*set FHIR_SANDBOX_PORT/,
    );
    expectOneLine(
      demoService,
      1,
      /^demo: configuration error: PORT: port \d+ .*already in use.*set PORT to a free port/,
    );
    expectOneLine(demoSandbox, 1, /^demo: configuration error: FHIR_SANDBOX_PORT: port \d+ .*already in use/);
  }, 60_000);

  it('unknown flags: one line, exit 2, nothing on stdout', async () => {
    const programs = [
      ['hook', 'dist/scripts/hook.js'],
      ['sandbox', 'dist/scripts/sandbox.js'],
      ['demo', 'dist/scripts/demo.js'],
      ['check-registration', 'dist/scripts/check-registration.js'],
      ['fixtures:load', 'dist/scripts/fixtures-load.js'],
    ] as const;
    const results = await Promise.all(programs.map(([, script]) => run('node', [script, '--bogus'])));
    programs.forEach(([program], index) => {
      const result = results[index]!;
      expectOneLine(
        result,
        2,
        new RegExp(`^${program}: Unknown option '--bogus'.*\\(--help for usage\\)$`, 'm'),
      );
      expect(result.stdout).toBe('');
    });
  }, 60_000);
});

describe('npm run --silent hook -- --json', () => {
  let sandbox: FhirSandbox;
  let service: RunningService;
  const dataDir = () => path.join(tmp, 'hook-data');

  beforeAll(async () => {
    ({ sandbox } = await startFixtureSandbox({ port: 0 }));
    // The JWT audience is PUBLIC_BASE_URL (http://127.0.0.1:PORT), so the port is chosen first.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = String((probe.address() as AddressInfo).port);
    await new Promise((resolve) => probe.close(resolve));
    const config = loadConfig({ PORT: port, DATA_DIR: dataDir(), DEMO_FHIR_SERVER: sandbox.baseUrl });
    service = await startService(config, pino({ level: 'silent' }), {});
  });
  afterAll(async () => {
    await service.stop();
    await sandbox.close();
  });

  it('prints only JSON on stdout, and does not rebuild a current dist/', async () => {
    const before = statSync(path.join(PACKAGE_ROOT, 'dist/scripts/hook.js')).mtimeMs;
    const result = await run(
      'npm',
      [
        'run',
        '--silent',
        'hook',
        '--',
        '--patient',
        'crs-fx-cart-grade2-patient',
        '--fhir',
        sandbox.baseUrl,
        '--service',
        service.url,
        '--json',
      ],
      { DATA_DIR: dataDir() },
    );
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as { cards: { indicator: string }[] };
    expect(body.cards[0]?.indicator).toBe('critical');
    expect(statSync(path.join(PACKAGE_ROOT, 'dist/scripts/hook.js')).mtimeMs).toBe(before);
  });
});
