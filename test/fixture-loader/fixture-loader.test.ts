/**
 * The fixture loader against the embedded FHIR sandbox over real HTTP on 127.0.0.1: load (two runs
 * side by side), list and delete by run tag, the fallback to individual PUTs, and the clear errors
 * for an unreachable server, bad credentials, a non-FHIR answer and a server that ignores `_tag`.
 */
import { createServer } from 'node:net';
import type { Bundle, FhirResource, Observation, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFhirAdminClient } from '../../src/fhir/fhir-admin-client.js';
import {
  defaultFixtureDir,
  deleteRun,
  listRun,
  loadFixtures,
  type LoadResult,
} from '../../src/fixture-loader/fixture-loader.js';
import { makeRunTag, RUN_TAG_SYSTEM, runIdPrefix } from '../../src/fixture-loader/run-tag.js';
import { loadAllFixtures } from '../../src/fixtures/fixture-manifest.js';
import { startFhirSandbox, type FhirSandbox } from '../../src/sandbox/fhir-sandbox.js';
import { startFhirProxy, type FhirProxy } from './fhir-proxy.js';

const NOW = new Date('2026-03-01T08:30:00Z');
const { manifest, fixtures } = loadAllFixtures(defaultFixtureDir());
const ANCHOR = new Date(manifest.anchor);
const totalResources = fixtures.reduce((n, f) => n + (f.bundle.entry?.length ?? 0), 0);

/** Someone else's data on the shared server: must survive every delete. */
const UNRELATED: Bundle<FhirResource> = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      resource: {
        resourceType: 'Patient',
        id: 'someone-else',
        meta: { tag: [{ system: 'urn:crs-sentinel:tag', code: 'constructed-fixture' }] },
      },
      request: { method: 'PUT', url: 'Patient/someone-else' },
    },
    {
      resource: {
        resourceType: 'Observation',
        id: 'someone-else-temp',
        status: 'final',
        code: { text: 'Body temperature' },
        subject: { reference: 'Patient/someone-else' },
        meta: { tag: [{ system: RUN_TAG_SYSTEM, code: 'crs-sentinel-run-202001010000-zzzzzz' }] },
      },
      request: { method: 'PUT', url: 'Observation/someone-else-temp' },
    },
  ],
};

let sandbox: FhirSandbox;
const proxies: FhirProxy[] = [];

beforeAll(async () => {
  sandbox = await startFhirSandbox({ host: '127.0.0.1', port: 0, bundles: [UNRELATED] });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await sandbox.close();
});

async function proxy(behaviour: Parameters<typeof startFhirProxy>[1]): Promise<FhirProxy> {
  const p = await startFhirProxy(sandbox.baseUrl, behaviour);
  proxies.push(p);
  return p;
}

async function read(type: string, id: string): Promise<{ status: number; body: Resource }> {
  const res = await fetch(`${sandbox.baseUrl}/${type}/${id}`, {
    headers: { accept: 'application/fhir+json' },
  });
  return { status: res.status, body: (await res.json()) as Resource };
}

/** Every resource carrying the run tag, read straight from the sandbox. */
async function runResources(runTag: string): Promise<Resource[]> {
  const client = openFhirAdminClient({ baseUrl: sandbox.baseUrl, timeoutMs: 10_000 });
  const types = [
    'Patient',
    'Encounter',
    'Medication',
    'Condition',
    'Procedure',
    'Observation',
    'MedicationAdministration',
  ];
  const out: Resource[] = [];
  for (const type of types)
    out.push(...(await client.searchAll(type, { _tag: `${RUN_TAG_SYSTEM}|${runTag}` })));
  return out;
}

function references(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) references(item, out);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'reference' && typeof value === 'string') out.push(value);
      else references(value, out);
    }
  }
  return out;
}

describe('load, list and delete by run tag', () => {
  let runA: LoadResult;
  let runB: LoadResult;

  beforeAll(async () => {
    runA = await loadFixtures({ fhirBase: sandbox.baseUrl, now: NOW, runTag: makeRunTag(NOW) });
    runB = await loadFixtures({ fhirBase: sandbox.baseUrl, now: NOW, only: 'cart-grade2' });
  });

  it('loads every fixture patient with transactions under new, run-prefixed ids', async () => {
    expect(runA.mode).toBe('transaction');
    expect(runA.resources).toBe(totalResources);
    expect(runA.patients.map((p) => p.fixturePatientId)).toEqual(fixtures.map((f) => f.patientId));
    const prefix = runIdPrefix(runA.runTag);
    for (const patient of runA.patients) {
      expect(patient.patientId).toMatch(new RegExp(`^${prefix}-`));
      expect(patient.patientId).not.toContain('crs-fx-');
      const { status, body } = await read('Patient', patient.patientId);
      expect(status).toBe(200);
      expect(body.meta?.tag).toContainEqual(
        expect.objectContaining({ system: RUN_TAG_SYSTEM, code: runA.runTag }),
      );
    }
    // The fixture ids themselves were never written.
    expect((await read('Patient', 'crs-fx-cart-grade2-patient')).status).toBe(404);
  });

  it('rewrites every reference to the run ids, and they all resolve on the server', async () => {
    const resources = await runResources(runA.runTag);
    expect(resources).toHaveLength(totalResources);
    const ids = new Set(resources.map((r) => `${r.resourceType}/${r.id ?? ''}`));
    const refs = resources.flatMap((r) => references(r));
    expect(refs.length).toBeGreaterThan(totalResources);
    for (const ref of refs) expect(ids.has(ref), ref).toBe(true);
  });

  it('moves every timestamp from the manifest anchor to now', async () => {
    const fixture = fixtures.find((f) => f.patientId === 'crs-fx-cart-grade2-patient')!;
    const original = fixture.bundle
      .entry!.map((e) => e.resource as FhirResource | undefined)
      .find((r): r is Observation => r?.resourceType === 'Observation' && r.effectiveDateTime !== undefined)!;
    const newId = `${runIdPrefix(runA.runTag)}-${original.id!.slice('crs-fx-'.length)}`;
    const { body } = await read('Observation', newId);
    const loaded = body as Observation;
    expect(Date.parse(loaded.effectiveDateTime!)).toBe(
      Date.parse(original.effectiveDateTime!) + (NOW.getTime() - ANCHOR.getTime()),
    );
  });

  it('gives two runs disjoint ids and patient identifiers', async () => {
    expect(runB.runTag).not.toBe(runA.runTag);
    expect(runB.patients.map((p) => p.fixturePatientId)).toEqual(['crs-fx-cart-grade2-patient']);
    const a = runA.patients.find((p) => p.fixturePatientId === 'crs-fx-cart-grade2-patient')!;
    const b = runB.patients[0]!;
    expect(b.patientId).not.toBe(a.patientId);
    const [pa, pb] = await Promise.all([read('Patient', a.patientId), read('Patient', b.patientId)]);
    const mrn = (r: Resource) => (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value;
    expect(mrn(pa.body)).toMatch(/^CRS-FX-\d{3}-crs-/);
    expect(mrn(pa.body)).not.toBe(mrn(pb.body));
  });

  it('lists what a run created', async () => {
    const listing = await listRun(sandbox.baseUrl, runB.runTag);
    const fixture = fixtures.find((f) => f.patientId === 'crs-fx-cart-grade2-patient')!;
    expect(listing.resources).toHaveLength(fixture.bundle.entry!.length);
    expect(listing.patients).toEqual([runB.patients[0]!.patientId]);
    expect(listing.counts.Patient).toBe(1);
    expect(Object.values(listing.counts).reduce((x, y) => x + y, 0)).toBe(fixture.bundle.entry!.length);
  });

  it('deletes exactly what a run created: the other run and unrelated data stay', async () => {
    const beforeA = await runResources(runA.runTag);
    const result = await deleteRun(sandbox.baseUrl, runB.runTag);
    expect(result.total).toBe(runB.resources);
    expect(result.deleted.Patient).toBe(1);
    expect(await runResources(runB.runTag)).toEqual([]);
    expect((await read('Patient', runB.patients[0]!.patientId)).status).not.toBe(200);
    expect(await runResources(runA.runTag)).toHaveLength(beforeA.length);
    expect((await read('Patient', 'someone-else')).status).toBe(200);
    expect((await read('Observation', 'someone-else-temp')).status).toBe(200);
    // Deleting again finds nothing.
    expect((await deleteRun(sandbox.baseUrl, runB.runTag)).total).toBe(0);
  });

  it('deletes a whole run of every fixture patient', async () => {
    const result = await deleteRun(sandbox.baseUrl, runA.runTag);
    expect(result.total).toBe(totalResources);
    expect((await listRun(sandbox.baseUrl, runA.runTag)).resources).toEqual([]);
    expect((await read('Patient', 'someone-else')).status).toBe(200);
  });
});

describe('servers that behave differently', () => {
  it('falls back to individual PUTs when the server refuses transactions', async () => {
    const p = await proxy({ refuseTransactions: 405 });
    const result = await loadFixtures({ fhirBase: p.baseUrl, now: NOW, only: 'cart-grade3' });
    expect(result.mode).toBe('individual-puts');
    const posts = p.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1); // one refused transaction, then PUTs only
    const puts = p.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(result.resources);
    expect(puts[0]!.path).toMatch(/^\/fhir\/Patient\//); // referenced resources first
    const resources = await runResources(result.runTag);
    expect(resources).toHaveLength(result.resources);
    const ids = new Set(resources.map((r) => `${r.resourceType}/${r.id ?? ''}`));
    for (const ref of resources.flatMap((r) => references(r))) expect(ids.has(ref), ref).toBe(true);
    expect((await deleteRun(p.baseUrl, result.runTag)).total).toBe(result.resources);
  });

  it('names the failing resource and the run tag to clean up when a PUT fails half-way', async () => {
    const p = await proxy({ refuseTransactions: 501, failPutsOf: 'Observation' });
    const runTag = makeRunTag();
    await expect(loadFixtures({ fhirBase: p.baseUrl, runTag, only: 'cart-grade2' })).rejects.toThrow(
      new RegExp(
        `^cart-grade2-hypotension\\.json: the FHIR server answered PUT Observation/crs-[\\w-]+: HTTP 422: Unknown code system; what was written carries run tag ${runTag}: remove it with --delete --run ${runTag}$`,
      ),
    );
    const listing = await listRun(p.baseUrl, runTag);
    expect(listing.patients).toHaveLength(1); // the Patient tier went in before the Observations failed
    expect(listing.counts.Observation).toBeUndefined();
    expect((await deleteRun(p.baseUrl, runTag)).total).toBe(listing.resources.length);
  });

  it('does not fall back to PUTs when a transaction fails for another reason', async () => {
    const p = await proxy({ refuseTransactions: 500 });
    await expect(loadFixtures({ fhirBase: p.baseUrl, only: 'cart-grade1' })).rejects.toThrow(
      /^cart-grade1-fever\.json: the FHIR server answered POST transaction: HTTP 500: Database connection lost$/,
    );
    expect(p.requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });

  it('deletes nothing when the server ignores _tag', async () => {
    const loaded = await loadFixtures({ fhirBase: sandbox.baseUrl, now: NOW, only: 'cart-grade1' });
    const p = await proxy({ ignoreTag: true });
    await expect(deleteRun(p.baseUrl, loaded.runTag)).rejects.toThrow(
      /does not filter by _tag, so nothing was touched/,
    );
    expect(p.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(await runResources(loaded.runTag)).toHaveLength(loaded.resources);
    expect((await read('Patient', 'someone-else')).status).toBe(200);
    await deleteRun(sandbox.baseUrl, loaded.runTag);
  });

  it('says when the server refuses the credentials, without printing the token', async () => {
    const p = await proxy({ requireToken: 'right-token' });
    const failure = loadFixtures({ fhirBase: p.baseUrl, token: 'wrong-token-123', only: 'cart-grade4' });
    await expect(failure).rejects.toThrow(
      'the FHIR server refused the credentials (HTTP 401): check --token',
    );
    await expect(failure).rejects.not.toThrow(/wrong-token-123/);
    await expect(listRun(p.baseUrl, makeRunTag())).rejects.toThrow(
      /HTTP 401\): check --token \(none was given\)/,
    );
    // The right token works, and is sent as a bearer token.
    const ok = await loadFixtures({
      fhirBase: p.baseUrl,
      token: 'right-token',
      now: NOW,
      only: 'cart-grade4',
    });
    expect(p.requests.at(-1)?.authorization).toBe('Bearer right-token');
    expect((await deleteRun(p.baseUrl, ok.runTag, 'right-token')).total).toBe(ok.resources);
  });

  it('says when the server cannot be reached', async () => {
    const port = await freePort();
    await expect(
      loadFixtures({ fhirBase: `http://127.0.0.1:${port}/fhir`, only: 'cart-grade1' }),
    ).rejects.toThrow(new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}/fhir: .*ECONNREFUSED`));
  });

  it('says when the answer is not FHIR', async () => {
    const p = await proxy({ html: true });
    await expect(loadFixtures({ fhirBase: p.baseUrl, only: 'cart-grade1' })).rejects.toThrow(
      `${p.baseUrl} did not answer with FHIR JSON`,
    );
    expect(p.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('refuses a run tag it did not make, and an unknown --only', async () => {
    await expect(deleteRun(sandbox.baseUrl, 'Patient')).rejects.toThrow(/not a run tag/);
    await expect(loadFixtures({ fhirBase: sandbox.baseUrl, only: 'no-such-patient' })).rejects.toThrow(
      /no fixture patient id contains "no-such-patient"/,
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
