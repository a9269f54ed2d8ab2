/**
 * The card ledger through the real app (issue 11, "Card ledger and feedback"): every decided card
 * is recorded with its facts and no PHI; feedback joins it by card uuid; feedback for an unknown
 * card is kept and flagged; a ledger that fails does not fail the hook.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CdsServiceResponse } from '../../src/cds-hooks/cds-hooks-types.js';
import type { GovernanceStore } from '../../src/storage/governance-store.js';
import { openSqliteStore } from '../../src/storage/sqlite-store.js';
import { TEST_NOW, hookRequest } from '../support/test-app.js';
import { fixturePrefetch, governedApp, patientKey } from './governance-helpers.js';

const PATIENT = 'ledger-pat-1';
const HOOK = '/cds-services/crs-sentinel';
let store: GovernanceStore;

beforeEach(() => {
  store = openSqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

async function callHook(app: Parameters<typeof request>[0], file: string) {
  const res = await request(app)
    .post(HOOK)
    .send(
      hookRequest({
        context: { userId: 'Practitioner/a', patientId: PATIENT },
        prefetch: fixturePrefetch(file, PATIENT),
      }),
    )
    .expect(200);
  return res.body as CdsServiceResponse;
}

describe('card ledger', () => {
  it('records the decided card with its facts, keyed by a hash of issuer and patient id', async () => {
    const { app } = governedApp(store, { now: () => TEST_NOW });
    const { cards } = await callHook(app, 'cart-grade2-hypotension.json');
    expect(cards).toHaveLength(1);
    const [card] = cards;
    const history = await store.patientHistory(
      'crs-sentinel',
      patientKey('development', PATIENT),
      new Date(0),
    );
    expect(history).toEqual([
      {
        cardUuid: card?.uuid,
        suggestionUuids: (card?.suggestions ?? []).map((s) => s.uuid),
        serviceId: 'crs-sentinel',
        patientKey: patientKey('development', PATIENT),
        hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
        ehrIssuer: 'development',
        kind: 'crs',
        grade: 2,
        context: 'car-t',
        indicator: 'critical',
        fingerprint: { domains: ['fever', 'hypotension'], agents: [] },
        decidedAt: TEST_NOW.toISOString(),
        disposition: 'shown',
        feedback: [],
      },
    ]);
  });

  it('keeps no patient id, name, value or token', async () => {
    const { app } = governedApp(store, { now: () => TEST_NOW });
    await callHook(app, 'cart-grade3-norepinephrine.json');
    const [entry] = await store.decisionsBetween(new Date(0), new Date(8.64e15));
    const text = JSON.stringify(entry);
    expect(entry?.fingerprint).toEqual({ domains: ['fever', 'hypotension'], agents: ['norepinephrine'] });
    expect(text).not.toContain(PATIENT);
    expect(text).not.toMatch(/39\.4|78|Bearer|tisagenlecleucel/);
  });

  it('joins feedback by card uuid, and keeps feedback for an unknown card, flagged', async () => {
    const { app } = governedApp(store, { now: () => TEST_NOW });
    const { cards } = await callHook(app, 'cart-grade2-hypotension.json');
    const uuid = cards[0]?.uuid ?? '';
    await request(app)
      .post(`${HOOK}/feedback`)
      .send({
        feedback: [
          {
            card: uuid,
            outcome: 'overridden',
            overrideReason: {
              reason: { system: 'urn:crs-sentinel:override-reason', code: 'already-managed' },
              userComment: 'Jane Doe is on it',
            },
            outcomeTimestamp: '2025-01-15T12:05:00Z',
          },
          {
            card: '11111111-2222-4333-8444-555555555555',
            outcome: 'accepted',
            outcomeTimestamp: '2025-01-15T12:06:00Z',
          },
        ],
      })
      .expect(200, {});
    const [entry] = await store.patientHistory(
      'crs-sentinel',
      patientKey('development', PATIENT),
      new Date(0),
    );
    expect(entry?.feedback).toEqual([
      {
        serviceId: 'crs-sentinel',
        card: uuid,
        outcome: 'overridden',
        overrideReason: { system: 'urn:crs-sentinel:override-reason', code: 'already-managed' },
        hadUserComment: true,
        outcomeTimestamp: '2025-01-15T12:05:00.000Z',
        receivedAt: TEST_NOW.toISOString(),
      },
    ]);
    const all = await store.feedbackBetween(new Date(0), new Date(8.64e15));
    expect(all.map((f) => [f.card, f.unknownCard ?? false])).toEqual([
      [uuid, false],
      ['11111111-2222-4333-8444-555555555555', true],
    ]);
  });

  it('answers the card at once when the ledger hangs, and reports both operations', async () => {
    const failures: string[] = [];
    const hung = new Promise<never>(() => undefined);
    const { app } = governedApp(store, {
      now: () => TEST_NOW,
      governance: {
        ledger: {
          record: () => hung,
          patientHistory: () => hung,
          decisionsBetween: () => hung,
          feedbackBetween: () => hung,
        },
        storeDeadlineMs: 50,
        onStoreError: (operation, error) => failures.push(`${operation}: ${(error as Error).name}`),
      },
    });
    const { cards } = await callHook(app, 'cart-grade2-hypotension.json');
    expect(cards).toHaveLength(1);
    expect(failures).toEqual(['read: StoreDeadlineError', 'write: StoreDeadlineError']);
  });

  it('answers the card when the ledger cannot be written, and reports the failure', async () => {
    const failures: string[] = [];
    await store.close(); // every write now throws
    const { app } = governedApp(store, {
      now: () => TEST_NOW,
      governance: { onStoreError: (operation) => failures.push(operation) },
    });
    const { cards } = await callHook(app, 'cart-grade2-hypotension.json');
    expect(cards).toHaveLength(1);
    expect(failures).toContain('write');
  });
});
