/** The report as Markdown (plots linked from `plots/`). */
import { reportSections } from './report-sections.js';
import type { Report } from './write-report.js';

const cell = (v: string | number): string => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(report: Report): string {
  const out: string[] = ['# crs-sentinel replay report', ''];
  for (const s of reportSections(report)) {
    out.push(`## ${s.title}`, '');
    if (s.text) out.push(s.text, '');
    if (s.head && s.rows) {
      out.push(`| ${s.head.map(cell).join(' | ')} |`, `|${s.head.map(() => ' --- |').join('')}`);
      for (const row of s.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
      out.push('');
    }
  }
  if (report.plots.length) {
    out.push('## Timelines', '');
    for (const p of report.plots)
      out.push(`![patient ${p.patientKey} stay ${String(p.stayIndex + 1)}](${p.file})`, '');
  }
  return out.join('\n');
}
