/**
 * The policy through the real app and the embedded store (issue 11): a clinician's answer quiets
 * the same card for the whole team; an escalation breaks through at once and says what changed;
 * the quiet period ends; every decision, shown or suppressed, is in the ledger.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { openSqliteStore } from '../../src/storage/sqlite-store.js';
import { TEST_NOW, hookRequest } from '../support/test-app.js';
import { fixturePrefetch, governedApp, patientKey } from './governance-helpers.js';

const PATIENT = 'governed-pat-1';
const HOOK = '/cds-services/crs-sentinel';
const hours = (h: number) => new Date(TEST_NOW.getTime() + h * 3_600_000);
let store: GovernanceStore;
let now: Date;
let app: ReturnType<typeof governedApp>['app'];

beforeEach(() => {
  store = openSqliteStore(':memory:');
  now = TEST_NOW;
  ({ app } = governedApp(store, { now: () => now }));
});
afterEach(async () => {
  await store.close();
});

async function open(file: string, at: Date, userId = 'Practitioner/first') {
  now = at;
  const res = await request(app)
    .post(HOOK)
    .send(
      hookRequest({
        hookInstance: crypto.randomUUID(),
        context: { userId, patientId: PATIENT },
        prefetch: fixturePrefetch(file, PATIENT, at),
      }),
    )
    .expect(200);
  return res.body as CdsServiceResponse;
}

async function override(card: string, code: string, at: Date) {
  await request(app)
    .post(`${HOOK}/feedback`)
    .send({
      feedback: [
        {
          card,
          outcome: 'overridden',
          overrideReason: { reason: { system: 'urn:crs-sentinel:override-reason', code } },
          outcomeTimestamp: at.toISOString(),
        },
      ],
    })
    .expect(200, {});
}

const dispositions = async () =>
  (await store.patientHistory('crs-sentinel', patientKey('development', PATIENT), new Date(0))).map((e) => [
    e.grade,
    e.disposition,
  ]);

describe('governed patient-view', () => {
  it('already being managed: quiet for the team, escalation breaks through and says what changed', async () => {
    const first = await open('cart-grade2-hypotension.json', TEST_NOW);
    expect(first.cards).toHaveLength(1);
    await override(first.cards[0]?.uuid ?? '', 'already-managed', hours(0.1));

    // Another clinician opens the chart an hour later: the acknowledgement is patient-level.
    expect(await open('cart-grade2-hypotension.json', hours(1), 'Practitioner/second')).toEqual({
      cards: [],
    });

    const worse = await open('cart-grade3-norepinephrine.json', hours(2), 'Practitioner/second');
    expect(worse.cards).toHaveLength(1);
    expect(worse.cards[0]?.summary).toMatch(/^Possible CRS grade 3/);
    expect(worse.cards[0]?.detail?.split('\n')[0]).toBe(
      '**What changed**: grade 2 -> 3 since 12:00 UTC: sepsis context now present, norepinephrine started.',
    );
    expect(worse.cards[0]?.extension?.['org.crs-sentinel.governance']).toEqual({
      whatChanged: {
        since: TEST_NOW.toISOString(),
        changes: [
          { kind: 'grade', from: 2, to: 3 },
          { kind: 'context-added', context: 'sepsis' },
          { kind: 'vasopressor-started', agent: 'norepinephrine' },
        ],
      },
    });
    expect(await dispositions()).toEqual([
      [2, 'shown'],
      [2, 'suppressed'],
      [3, 'shown'],
    ]);
  });

  it('the quiet period ends after 12 h', async () => {
    const first = await open('cart-grade2-hypotension.json', TEST_NOW);
    await override(first.cards[0]?.uuid ?? '', 'already-managed', TEST_NOW);
    expect((await open('cart-grade2-hypotension.json', hours(11.9))).cards).toEqual([]);
    expect((await open('cart-grade2-hypotension.json', hours(12))).cards).toHaveLength(1);
  });

  it('not relevant for this patient: quiet days later, while the context is the same', async () => {
    const first = await open('cart-grade2-hypotension.json', TEST_NOW);
    await override(first.cards[0]?.uuid ?? '', 'not-relevant', TEST_NOW);
    expect((await open('cart-grade2-hypotension.json', hours(48))).cards).toEqual([]);
    expect(await dispositions()).toEqual([
      [2, 'shown'],
      [2, 'suppressed'],
    ]);
  });

  it('without an answer the card is shown on every open (nobody acknowledged it)', async () => {
    await open('cart-grade2-hypotension.json', TEST_NOW);
    expect((await open('cart-grade2-hypotension.json', hours(1))).cards).toHaveLength(1);
  });
});
