/**
 * A site's own ValueSets (SITE_VALUESETS): files whose `url` is a built-in list extend it; any
 * problem (unknown url, invalid JSON or ValueSet, a medication code naming no agent, an unreadable
 * folder) stops `npm start` with one line naming the file and the problem, never a stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../../src/config/startup.js';
import { loadCodeIndex } from '../../src/config/value-sets.js';
import { DEFAULT_CODE_INDEX } from '../../src/rules/crs-sentinel/default-value-sets.js';
import { AGENT_EXTENSION, AGENT_SYSTEM, NAME_MATCH_USE } from '../../src/rules/crs-sentinel/value-set.js';
import { startFromEnvironment } from '../../src/server.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'crs-site-valuesets-'));
});
afterAll(async () => {
  // The feedback store of a service that started creates DATA_DIR in the background: let it settle.
  await new Promise((resolve) => setTimeout(resolve, 200));
  rmSync(tmp, { recursive: true, force: true });
});

/** A folder holding these files (name -> JSON value or raw text). */
function folder(name: string, files: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const LOCAL = 'urn:oid:1.2.840.99999.2';
function valueSet(list: string, include: unknown[], extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'ValueSet',
    url: `https://crs-sentinel.org/fhir/ValueSet/${list}`,
    name: 'SiteList',
    title: 'Site list',
    status: 'active',
    description: 'Local codes of the test hospital (its formulary and flowsheet rows).',
    compose: { include },
    // What a VSAC export also carries: ignored.
    meta: { profile: ['http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/computable-valueset-cqfm'] },
    expansion: { timestamp: '2025-01-01T00:00:00Z', contains: [] },
    ...extra,
  };
}

describe('SITE_VALUESETS extends the built-in lists', () => {
  it('no folder: the built-in index itself', () => {
    expect(loadCodeIndex(undefined)).toBe(DEFAULT_CODE_INDEX);
  });

  it('adds observation codes, device codes, a drug code naming an agent, a new agent with names', () => {
    const dir = folder('good', {
      'temperature.json': valueSet('observations-temperature', [
        { system: LOCAL, concept: [{ code: 'TEMP' }] },
      ]),
      'devices.json': valueSet('oxygen-devices-high-flow', [{ system: LOCAL, concept: [{ code: 'HFNC' }] }]),
      'pressors.json': valueSet('vasopressors', [
        {
          system: LOCAL,
          concept: [{ code: 'NORE8', extension: [{ url: AGENT_EXTENSION, valueCode: 'norepinephrine' }] }],
        },
      ]),
      'bispecifics.json': valueSet('bispecific-antibodies', [
        {
          system: AGENT_SYSTEM,
          concept: [
            { code: 'newmab', display: 'newmab', designation: [{ use: NAME_MATCH_USE, value: 'Newmab' }] },
          ],
        },
      ]),
      'notes.txt': 'not a ValueSet: ignored',
    });
    const codes = loadCodeIndex(dir);
    expect(codes.readingKind(LOCAL, 'TEMP')).toBe('temperature');
    expect(codes.readingKind('http://loinc.org', '8310-5')).toBe('temperature');
    expect(codes.oxygenDeviceClass(LOCAL, 'HFNC')).toBe('high-flow');
    expect(codes.medicationConcept('norepinephrine')?.procedureCodes).toContainEqual({
      system: LOCAL,
      code: 'NORE8',
    });
    expect(codes.medicationConcept('newmab')).toMatchObject({
      medicationClass: 'bispecific',
      names: ['Newmab'],
    });
    expect(codes.therapyConcepts.map((c) => c.id)).toContain('newmab');
    expect(DEFAULT_CODE_INDEX.readingKind(LOCAL, 'TEMP')).toBeUndefined();
  });
});

/** Runs `npm start`'s start-up with `env`; returns what it wrote to stderr and its exit code. */
async function start(env: Record<string, string>): Promise<{ stderr: string; exitCode: number | undefined }> {
  let stderr = '';
  let exitCode: number | undefined;
  const full = { PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: path.join(tmp, 'data'), CDS_AUTH: 'off', ...env };
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

describe('npm start: a bad site ValueSet is one line naming the file and the problem', () => {
  it('starts with a good folder', async () => {
    const dir = folder('start-good', {
      'temperature.json': valueSet('observations-temperature', [{ system: LOCAL, concept: [{ code: 'T' }] }]),
    });
    expect(await start({ SITE_VALUESETS: dir })).toEqual({ stderr: '', exitCode: undefined });
  });

  it.each([
    [
      'an unknown url',
      { 'x.json': { ...valueSet('heart-rates', [{ system: LOCAL, concept: [{ code: 'HR' }] }]) } },
      /x\.json": url "https:\/\/crs-sentinel\.org\/fhir\/ValueSet\/heart-rates" is no list the rules read/,
    ],
    [
      'invalid JSON',
      { 'broken.json': '{\n  "resourceType": "ValueSet",\n  "url" "x"\n}' },
      /broken\.json": JSON syntax error at line 3, column 9/,
    ],
    [
      'not a ValueSet',
      { 'cs.json': { ...valueSet('vasopressors', []), resourceType: 'CodeSystem' } },
      /cs\.json": not a valid FHIR ValueSet: resourceType: expected "ValueSet"/,
    ],
    [
      'a bad status',
      { 's.json': valueSet('inotropes', [{ system: LOCAL, concept: [{ code: 'D' }] }], { status: 'final' }) },
      /s\.json": not a valid FHIR ValueSet: status: /,
    ],
    [
      'a drug code naming no agent',
      { 'd.json': valueSet('inotropes', [{ system: LOCAL, concept: [{ code: 'DOBU' }] }]) },
      /d\.json": compose\.include\.0\.concept\.0 \(DOBU\): names no agent/,
    ],
    [
      'an include of another value set',
      { 'v.json': valueSet('inotropes', [{ system: LOCAL, valueSet: ['http://x'] }]) },
      /v\.json": not a valid FHIR ValueSet: compose\.include\.0\.valueSet: including other value sets is not supported/,
    ],
  ])('%s', async (name, files, message) => {
    const dir = folder(`bad-${name.replace(/\W+/g, '-')}`, files);
    const result = await start({ SITE_VALUESETS: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).toMatch(/^crs-sentinel: .*SITE_VALUESETS: "/);
    expect(result.stderr).toMatch(message);
  });

  it('a folder that is not one', async () => {
    const result = await start({ SITE_VALUESETS: path.join(tmp, 'no-such-folder') });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/SITE_VALUESETS: ".*no-such-folder" cannot be read as a folder \(ENOENT\)/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
