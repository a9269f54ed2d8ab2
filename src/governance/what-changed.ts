/**
 * "What changed" in words for an escalated card ("grade 2 -> 3 since 14:02 UTC: norepinephrine
 * started"), from the policy's typed changes and the template cards/crs-sentinel/what-changed.json
 * (content is data). Pure: the times are formatted in UTC, with the date when not the same day.
 */
import { z } from 'zod';
import type { Change, WhatChanged } from './policy.js';

const text = z.string().min(1);

export const whatChangedTemplateSchema = z.strictObject({
  withGrade: text,
  withGradeAndChanges: text,
  withoutGrade: text,
  noGrade: text,
  separator: z.string(),
  vasopressorStarted: text,
  contextAdded: text,
  domainAdded: text,
  contexts: z.record(z.string(), text),
  domains: z.record(z.string(), text),
  detailLine: text,
  time: text,
  dateTime: text,
});

export type WhatChangedTemplate = z.infer<typeof whatChangedTemplateSchema>;

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function describeWhatChanged(what: WhatChanged, now: Date, t: WhatChangedTemplate): string {
  const since = new Date(what.since);
  const sameDay = since.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  const hhmm = since.toISOString().slice(11, 16);
  const time = sameDay ? fill(t.time, { hhmm }) : fill(t.dateTime, { date: what.since.slice(0, 10), hhmm });
  const grade = what.changes.find((c) => c.kind === 'grade');
  const others = what.changes.filter((c) => c.kind !== 'grade').map((c) => describeChange(c, t));
  const changes = others.join(t.separator);
  if (grade === undefined) return fill(t.withoutGrade, { time, changes });
  const values = {
    from: grade.from === null ? t.noGrade : String(grade.from),
    to: grade.to === null ? t.noGrade : String(grade.to),
    time,
    changes,
  };
  return fill(others.length === 0 ? t.withGrade : t.withGradeAndChanges, values);
}

function describeChange(change: Exclude<Change, { kind: 'grade' }>, t: WhatChangedTemplate): string {
  switch (change.kind) {
    case 'vasopressor-started':
      return fill(t.vasopressorStarted, { agent: change.agent });
    case 'context-added':
      return fill(t.contextAdded, { context: t.contexts[change.context] ?? change.context });
    case 'domain-added':
      return fill(t.domainAdded, { domain: t.domains[change.domain] ?? change.domain });
  }
}
