/**
 * The report's content as sections of text and tables, rendered alike to Markdown and HTML.
 */
import type { Distribution } from '../cohort-metrics.js';
import type { Report } from './write-report.js';

export interface Section {
  title: string;
  text?: string;
  head?: string[];
  rows?: (string | number)[][];
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const minutes = (x: number | undefined): string =>
  x === undefined ? '-' : `${x < 0 ? '-' : '+'}${(Math.abs(x) / 60).toFixed(1)} h`;

function distributionRow(d: Distribution): string[] {
  return [minutes(d.min), minutes(d.p25), minutes(d.median), minutes(d.p75), minutes(d.max)];
}

function countRows(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([, a], [, b]) => b - a);
}

export function reportSections(report: Report): Section[] {
  const { run, cohort } = report;
  const indicators = [
    ...new Set([...Object.keys(cohort.cards.raw), ...Object.keys(cohort.cards.governed)]),
  ].sort();
  return [
    {
      title: 'Run',
      head: ['setting', 'value'],
      rows: [
        ['export', run.export],
        ['files', run.split.files.join(', ')],
        ['lines read / resources routed', `${String(run.split.lines)} / ${String(run.split.routed)}`],
        ['step', run.step],
        ['period', `${run.from ?? 'each stay'} .. ${run.to ?? 'each stay'}`],
        ['encounter classes', run.encounterClasses?.join(', ') ?? 'all'],
        ['governance', run.governance],
        ['event window', `± ${run.eventWindow}`],
        ['shards', run.shards.join(', ')],
      ],
    },
    {
      title: 'Cohort',
      head: ['measure', 'raw', 'after governance'],
      rows: [
        ['patients', cohort.patients, cohort.patients],
        ['stays', cohort.stays, cohort.stays],
        ['patient-days', cohort.patientDays, cohort.patientDays],
        ['engine calls (steps)', cohort.steps, cohort.steps],
        ['alert episodes (warning or critical)', cohort.alertEpisodes.raw, cohort.alertEpisodes.governed],
        [
          'alert episodes per patient-day',
          cohort.alertEpisodes.perPatientDay.raw,
          cohort.alertEpisodes.perPatientDay.governed,
        ],
        [
          `alert episodes per patient-day, stays never coded as sepsis (${String(cohort.notCodedSepsis.stays)} stays, ${String(cohort.notCodedSepsis.patientDays)} days)`,
          cohort.notCodedSepsis.perPatientDay.raw,
          cohort.notCodedSepsis.perPatientDay.governed,
        ],
        [
          'critical cards set by oxygen alone in a sepsis-only context',
          cohort.oxygenOnlyCriticalInSepsis,
          '-',
        ],
        [
          'patients ever alerted',
          `${String(cohort.patientsEverAlerted.raw)} (${pct(cohort.patientsEverAlerted.share.raw)})`,
          `${String(cohort.patientsEverAlerted.governed)} (${pct(cohort.patientsEverAlerted.share.governed)})`,
        ],
      ],
    },
    {
      title: 'Cards per patient-day, by indicator and grade',
      text: 'A card is counted at every step at which the engine would show it.',
      head: [
        'indicator / grade',
        'cards (raw)',
        'per patient-day (raw)',
        'cards (governed)',
        'per patient-day (governed)',
      ],
      rows: indicators.map((k) => [
        k,
        cohort.cards.raw[k] ?? 0,
        cohort.cardsPerPatientDay.raw[k] ?? 0,
        cohort.cards.governed[k] ?? 0,
        cohort.cardsPerPatientDay.governed[k] ?? 0,
      ]),
    },
    {
      title: 'Time to alert around reference events (first of each per stay)',
      text: `Lead/lag: first shown alert within ± ${run.eventWindow} of the event minus the event time (negative: the alert came first).`,
      head: ['event', 'stays with it', 'alerted', 'alerted by +1 h', 'min', 'p25', 'median', 'p75', 'max'],
      rows: cohort.events.map((e) => [
        e.label,
        e.stays,
        `${String(e.alerted)} (${e.stays ? pct(e.alerted / e.stays) : '-'})`,
        e.alertedWithin1h,
        ...distributionRow(e.leadLagMinutes),
      ]),
    },
    {
      title: 'Events not alerted by +1 h: what the engine said at the first step after them',
      head: ['event', 'engine outcome', 'stays'],
      rows: cohort.events.flatMap((e) => e.notAlertedWithin1hBecause.map(([why, n]) => [e.label, why, n])),
    },
    {
      title: 'What the cards were for: top summaries (numbers as #)',
      head: ['summary', 'cards'],
      rows: cohort.top.summaries,
    },
    { title: 'Top contexts', head: ['context', 'cards'], rows: cohort.top.contexts },
    { title: 'Top rules', head: ['rule that fired', 'cards'], rows: cohort.top.rules },
    {
      title: 'Data gaps and unreadable data',
      text: 'Data gaps: steps at which the engine reported each gap. Resources: left out of the replay, by kind.',
      head: ['kind', 'count'],
      rows: [
        ...countRows(cohort.dataGapSteps).map(([k, n]) => [`data gap: ${k} (steps)`, n]),
        ...countRows(cohort.undated).map(([k, n]) => [`undated ${k} (no usable time)`, n]),
        ...countRows(cohort.unreadable).map(([k, n]) => [`unreadable: ${k}`, n]),
        ...countRows(cohort.unused).map(([k, n]) => [`not read by the engine: ${k}`, n]),
        ...countRows(run.split.noPatient).map(([k, n]) => [`no patient reference: ${k}`, n]),
        ['malformed lines', run.split.malformed.count],
        ...run.split.malformed.first.map((m) => [`malformed: ${m.file} line ${String(m.line)}`, m.problem]),
      ],
    },
    {
      title: 'Patients (by pseudonym), most cards first',
      head: ['patient', 'stays', 'patient-days', 'cards', 'shown', 'episodes', 'events (lead/lag)'],
      rows: [...report.patients]
        .sort((a, b) => b.cards - a.cards || (a.patientKey < b.patientKey ? -1 : 1))
        .filter((p) => p.cards > 0 || p.events.length > 0)
        .map((p) => [
          p.patientKey,
          p.stays,
          p.patientDays,
          p.cards,
          p.shown,
          p.episodes,
          p.events.map((e) => `${e.id} ${minutes(e.leadLagMinutes)}`).join('; '),
        ]),
    },
  ];
}
