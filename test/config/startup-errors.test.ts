/**
 * Every start-up failure of `npm start` is one line on stderr naming the variable and the fix,
 * never a stack trace, with exit code 1 (issue 10, "Start-up and configuration a hospital can
 * read"). Runs the real start-up (`startFromEnvironment` under `runMain`, as server.ts's entry
 * point does) in-process with stderr and exit captured; test/ops/cli-process.test.ts runs the built
 * programs as child processes for the cases that need a real process.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeDependencies } from '../../src/compose-dependencies.js';
import { loadConfig, PACKAGE_ROOT } from '../../src/config/load-config.js';
import { runMain } from '../../src/config/startup.js';
import { startFromEnvironment } from '../../src/server.js';
import { makeEcKey } from '../trust/helpers.js';

let tmp: string;
let busy: Server;
let busyPort: number;
const key = makeEcKey('k1');
const client = {
  iss: 'https://ehr.example.org',
  jwks: { keys: [key.jwk] },
  fhir_servers: ['https://ehr.example.org/fhir'],
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'crs-startup-'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const target = path.join(tmp, name);
  writeFileSync(target, content);
  return target;
}

/** Runs `npm start`'s start-up with `env`; returns what it wrote to stderr and its exit code. */
async function start(env: Record<string, string>): Promise<{ stderr: string; exitCode: number | undefined }> {
  let stderr = '';
  let exitCode: number | undefined;
  const full = { PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: path.join(tmp, 'data'), ...env };
  await runMain(
    'crs-sentinel',
    async () => {
      const { service } = await startFromEnvironment(full);
      await service.stop();
    },
    { stderr: { write: (text: string) => (stderr += text) }, exit: (code) => (exitCode = code) },
  );
  return { stderr, exitCode };
}

function expectOneLine(
  result: { stderr: string; exitCode: number | undefined },
  ...parts: (string | RegExp)[]
) {
  expect(result.exitCode).toBe(1);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).toMatch(/^crs-sentinel: /);
  for (const part of parts) expect(result.stderr).toMatch(part);
}

const production = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'https://cds.example.org',
  PATIENT_ID_HASH_KEY: 'k'.repeat(32),
};

describe('npm start: one line per start-up error', () => {
  it('starts with a valid configuration (the baseline the cases below break)', async () => {
    expect(await start({ CDS_CLIENTS: JSON.stringify([client]) })).toEqual({
      stderr: '',
      exitCode: undefined,
    });
  });

  it('CDS_CLIENTS: a JSON syntax error gives line and column, not the content', async () => {
    const clients = file(
      'clients-broken.json',
      '[\n  {\n    "iss": "https://ehr.example.org"\n    "jwks": {}\n  }\n]\n',
    );
    const result = await start({ CDS_CLIENTS: clients });
    expectOneLine(result, `CDS_CLIENTS file "${clients}"`, /line 4, column 5: expected ',' or '\}'/);
    expect(result.stderr).not.toContain('ehr.example.org');
  });

  it('CDS_CLIENTS: a relative path is shown resolved; a byte-order mark is accepted', async () => {
    expectOneLine(
      await start({ CDS_CLIENTS: 'no-such-dir/clients.json' }),
      `"${path.resolve('no-such-dir/clients.json')}" cannot be read (ENOENT)`,
    );
    const bom = file('clients-bom.json', `\uFEFF${JSON.stringify([client])}`);
    expect(await start({ CDS_CLIENTS: bom })).toEqual({ stderr: '', exitCode: undefined });
  });

  it('CDS_CLIENTS: every problem of every entry on the one line', async () => {
    const result = await start({
      CDS_CLIENTS: JSON.stringify([
        { iss: 'a', jwks_url: 'http://a/jwks', fhir_servers: ['https://a/fhir'] },
        { iss: 'b' },
      ]),
    });
    expectOneLine(
      result,
      /entry 0 \(iss "a"\): jwks_url uses plain http/,
      /entry 1 \(iss "b"\): fhir_servers/,
    );
  });

  it.each([
    [
      'no PUBLIC_BASE_URL',
      { NODE_ENV: 'production', CDS_CLIENTS: '[]' },
      /PUBLIC_BASE_URL: required when NODE_ENV=production/,
    ],
    [
      'http PUBLIC_BASE_URL',
      { ...production, PUBLIC_BASE_URL: 'http://cds.example.org' },
      /PUBLIC_BASE_URL: must be https/,
    ],
    [
      'PUBLIC_BASE_URL with a path',
      { ...production, PUBLIC_BASE_URL: 'https://cds.example.org/cds-services' },
      /PUBLIC_BASE_URL: must be an origin without a path.*set it to https:\/\/cds\.example\.org$/m,
    ],
    ['no CDS_CLIENTS', production, /CDS_CLIENTS: required when NODE_ENV=production/],
    ['an empty CDS_CLIENTS', { ...production, CDS_CLIENTS: '[]' }, /CDS_CLIENTS: lists no client/],
    [
      'CDS_AUTH=off',
      { ...production, CDS_CLIENTS: JSON.stringify([client]), CDS_AUTH: 'off' },
      /CDS_AUTH=off is refused/,
    ],
  ])('NODE_ENV=production: %s', async (_name, env, message) => {
    expectOneLine(await start(env), message);
  });

  it('NODE_ENV=production starts with an https origin (a trailing slash is fine) and clients', async () => {
    expect(
      await start({
        ...production,
        PUBLIC_BASE_URL: 'https://cds.example.org/',
        CDS_CLIENTS: JSON.stringify([client]),
      }),
    ).toEqual({ stderr: '', exitCode: undefined });
  });

  it('RULES_CONFIG and SITE_CODES: unreadable, bad JSON, a bad field, each named', async () => {
    expectOneLine(
      await start({ RULES_CONFIG: path.join(tmp, 'none.json') }),
      /RULES_CONFIG: ".*none\.json" cannot be read \(ENOENT\)/,
    );
    expectOneLine(
      await start({ RULES_CONFIG: file('rules-bad.json', '{"fever": }') }),
      /RULES_CONFIG: .*line 1, column 11/,
    );
    expectOneLine(
      await start({ RULES_CONFIG: file('rules-field.json', '{"nonsense": 1}') }),
      /^crs-sentinel: configuration error: RULES_CONFIG: ".*rules-field\.json": Invalid CRS rule configuration/,
    );
    expectOneLine(
      await start({ SITE_CODES: file('site-bad.json', '{"medications": 3}') }),
      /SITE_CODES: ".*site-bad\.json": Invalid site-codes mapping/,
    );
  });

  it('CARDS_DIR: a missing folder and a broken template', async () => {
    expectOneLine(
      await start({ CARDS_DIR: path.join(tmp, 'no-cards') }),
      /CARDS_DIR: .*no-cards.* does not exist: set CARDS_DIR/,
    );
    const cards = path.join(tmp, 'cards');
    cpSync(path.join(PACKAGE_ROOT, 'cards'), cards, { recursive: true });
    const template = path.join(cards, 'crs-sentinel/crs-card.json');
    const parsed = JSON.parse(readFileSync(template, 'utf8')) as Record<string, unknown>;
    writeFileSync(template, JSON.stringify({ ...parsed, overrideReasons: [{ code: 'a' }] }));
    expectOneLine(
      await start({ CARDS_DIR: cards }),
      /CARDS_DIR: Invalid card template .*crs-card\.json.*overrideReasons/,
    );
    writeFileSync(template, '{\n  "summary": \n}');
    expectOneLine(
      await start({ CARDS_DIR: cards }),
      /CARDS_DIR: Card template .*crs-card\.json: JSON syntax error at line 3, column 1/,
    );
  });

  it('DATA_DIR: not creatable, or not writable', async () => {
    const aFile = file('plain-file', '');
    expectOneLine(
      await start({ DATA_DIR: path.join(aFile, 'data') }),
      /DATA_DIR: cannot create .* \(ENOTDIR\)/,
    );
    // /proc/self exists and nobody, not even root, can create a file in it.
    expectOneLine(await start({ DATA_DIR: '/proc/self' }), /DATA_DIR: "\/proc\/self" is not writable/);
  });

  it('PORT in use and a HOST that is not an interface of this machine', async () => {
    expectOneLine(
      await start({ PORT: String(busyPort) }),
      new RegExp(`PORT: port ${busyPort} on 127\\.0\\.0\\.1 is already in use.*set PORT to a free port`),
    );
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    expectOneLine(
      await start({ HOST: '192.0.2.1' }),
      /HOST: cannot listen on "192\.0\.2\.1" \(EADDRNOTAVAIL\): set HOST/,
    );
  });

  it('a bad variable value says what to set', async () => {
    expectOneLine(await start({ PORT: 'eighty' }), /PORT: .*\(got "eighty"\): set PORT to a TCP port/);
  });

  it('an unhandled rejection while starting becomes the one line too', async () => {
    let stderr = '';
    let exitCode: number | undefined;
    await runMain(
      'crs-sentinel',
      async () => {
        void Promise.reject(new TypeError('something broke\n    at nowhere (x.js:1:1)'));
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
      { stderr: { write: (text: string) => (stderr += text) }, exit: (code) => (exitCode = code) },
    );
    expectOneLine({ stderr, exitCode }, /start-up failed: TypeError: something broke/);
  });
});

describe('allow_insecure_http: one loud warning at start', () => {
  it('logs one warn line naming the issuers', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString('utf8').trim().split('\n'));
          done();
        },
      }),
    );
    const insecure = { ...client, fhir_servers: ['http://127.0.0.1:8080/fhir'], allow_insecure_http: true };
    const config = loadConfig({ CDS_CLIENTS: JSON.stringify([insecure]), DATA_DIR: path.join(tmp, 'data') });
    const deps = composeDependencies(config, {}, logger, () => true);
    await deps.feedbackStore.check(); // let the store's own mkdir settle before the folder is removed
    const warnings = lines.map(
      (line) => JSON.parse(line) as { level: number; msg: string; issuers?: string[] },
    );
    const insecureWarnings = warnings.filter((w) => w.level === 40 && w.msg.includes('allow_insecure_http'));
    expect(insecureWarnings).toHaveLength(1);
    expect(insecureWarnings[0]?.issuers).toEqual(['https://ehr.example.org']);
  });
});
