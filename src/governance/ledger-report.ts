/**
 * The ledger report (issue 11, `npm run ledger-report`): what the service decided in a period,
 * for a site validating in silent mode or reviewing alert burden. Pure: ledger entries and
 * feedback in, figures out. Patient-days are distinct (patient key, UTC date) pairs with a card.
 */
import type { FeedbackRecord } from '../feedback/feedback-store.js';
import type { LedgerEntry } from './card-ledger.js';

export interface ReportRow {
  readonly indicator: string;
  readonly grade: number | null;
  /** Every decided card: shown, suppressed or silent. */
  readonly wouldBe: number;
  readonly shown: number;
  readonly suppressed: number;
  readonly silent: number;
  readonly wouldBePerPatientDay: number;
  readonly shownPerPatientDay: number;
}

export interface LedgerReport {
  readonly from: string;
  readonly to: string;
  readonly decisions: number;
  readonly patients: number;
  readonly patientDays: number;
  readonly byIndicatorAndGrade: readonly ReportRow[];
  readonly suppressed: number;
  readonly feedback: {
    readonly total: number;
    readonly byOutcome: Readonly<Record<string, number>>;
    /** Override reasons by `system|code` (`none` when no reason was given). */
    readonly byOverrideReason: Readonly<Record<string, number>>;
    readonly unknownCards: number;
  };
  /** Per patient with an escalation: hours from their first card to the first card of a higher grade. */
  readonly escalation: {
    readonly patients: number;
    readonly hoursFromFirstCard: readonly number[];
    readonly medianHours: number | null;
  };
}

const HOUR_MS = 3_600_000;
const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

export function buildLedgerReport(
  entries: readonly LedgerEntry[],
  feedback: readonly FeedbackRecord[],
  from: Date,
  to: Date,
): LedgerReport {
  const patientDays = new Set(entries.map((e) => `${e.patientKey}|${e.decidedAt.slice(0, 10)}`)).size;
  const rows = new Map<string, { indicator: string; grade: number | null; counts: Record<string, number> }>();
  for (const e of entries) {
    const key = `${e.indicator}|${e.grade ?? '-'}`;
    const row = rows.get(key) ?? {
      indicator: e.indicator,
      grade: e.grade,
      counts: { shown: 0, suppressed: 0, silent: 0 },
    };
    row.counts[e.disposition] = (row.counts[e.disposition] ?? 0) + 1;
    rows.set(key, row);
  }
  const perDay = (n: number) => (patientDays === 0 ? 0 : round(n / patientDays));
  const byIndicatorAndGrade = [...rows.values()]
    .sort((a, b) => a.indicator.localeCompare(b.indicator) || (a.grade ?? -1) - (b.grade ?? -1))
    .map(({ indicator, grade, counts }): ReportRow => {
      const shown = counts.shown ?? 0;
      const suppressed = counts.suppressed ?? 0;
      const silent = counts.silent ?? 0;
      const wouldBe = shown + suppressed + silent;
      return {
        indicator,
        grade,
        wouldBe,
        shown,
        suppressed,
        silent,
        wouldBePerPatientDay: perDay(wouldBe),
        shownPerPatientDay: perDay(shown),
      };
    });
  const hoursFromFirstCard = escalationHours(entries);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    decisions: entries.length,
    patients: new Set(entries.map((e) => e.patientKey)).size,
    patientDays,
    byIndicatorAndGrade,
    suppressed: entries.filter((e) => e.disposition === 'suppressed').length,
    feedback: {
      total: feedback.length,
      byOutcome: countBy(feedback, (f) => f.outcome),
      byOverrideReason: countBy(
        feedback.filter((f) => f.outcome === 'overridden'),
        (f) =>
          f.overrideReason === undefined
            ? 'none'
            : `${f.overrideReason.system ?? ''}|${f.overrideReason.code}`,
      ),
      unknownCards: feedback.filter((f) => f.unknownCard === true).length,
    },
    escalation: {
      patients: hoursFromFirstCard.length,
      hoursFromFirstCard,
      medianHours: median(hoursFromFirstCard),
    },
  };
}

function escalationHours(entries: readonly LedgerEntry[]): number[] {
  const byPatient = new Map<string, LedgerEntry[]>();
  for (const e of entries) byPatient.set(e.patientKey, [...(byPatient.get(e.patientKey) ?? []), e]);
  const hours: number[] = [];
  for (const list of byPatient.values()) {
    const sorted = [...list].sort((a, b) => a.decidedAt.localeCompare(b.decidedAt));
    const first = sorted[0];
    if (first === undefined) continue;
    const higher = sorted.find((e) => (e.grade ?? 0) > (first.grade ?? 0));
    if (higher !== undefined)
      hours.push(round((Date.parse(higher.decidedAt) - Date.parse(first.decidedAt)) / HOUR_MS));
  }
  return hours.sort((a, b) => a - b);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? null)
    : round(((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2);
}

/** The report as text for a terminal. */
export function formatLedgerReport(r: LedgerReport): string {
  const lines = [
    `Card ledger ${r.from} to ${r.to}`,
    `${r.decisions} decisions, ${r.patients} patients, ${r.patientDays} patient-days, ${r.suppressed} suppressed`,
    '',
    'indicator  grade  would-be  shown  suppressed  silent  would-be/pt-day  shown/pt-day',
    ...r.byIndicatorAndGrade.map(
      (row) =>
        `${row.indicator.padEnd(9)}  ${String(row.grade ?? '-').padStart(5)}  ${String(row.wouldBe).padStart(8)}  ${String(row.shown).padStart(5)}  ${String(row.suppressed).padStart(10)}  ${String(row.silent).padStart(6)}  ${row.wouldBePerPatientDay.toFixed(2).padStart(15)}  ${row.shownPerPatientDay.toFixed(2).padStart(12)}`,
    ),
    '',
    `Feedback: ${r.feedback.total} (${
      Object.entries(r.feedback.byOutcome)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }), unknown cards ${r.feedback.unknownCards}`,
    ...Object.entries(r.feedback.byOverrideReason).map(([reason, n]) => `  override ${reason}: ${n}`),
    '',
    r.escalation.patients === 0
      ? 'Escalations: none'
      : `Escalations: ${r.escalation.patients} patients, median ${r.escalation.medianHours ?? '-'} h from first card (${r.escalation.hoursFromFirstCard.join(', ')} h)`,
  ];
  return `${lines.join('\n')}\n`;
}
