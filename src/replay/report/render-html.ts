/**
 * The report as one standalone HTML file: inline styles and SVG plots, no script, no external
 * resource (opens from disk, prints: each plot stays on one page).
 */
import { reportSections } from './report-sections.js';
import type { PlotRef, Report } from './write-report.js';

const escape = (v: string | number): string =>
  String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
th { background: #f4f4f4; } td:not(:first-child) { font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; page-break-inside: avoid; break-inside: avoid; } figcaption { font-size: .9em; color: #555; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
`;

export function renderHtml(report: Report, plots: readonly PlotRef[]): string {
  const body: string[] = ['<h1>crs-sentinel replay report</h1>'];
  for (const s of reportSections(report)) {
    body.push(`<h2>${escape(s.title)}</h2>`);
    if (s.text) body.push(`<p>${escape(s.text)}</p>`);
    if (s.head && s.rows) {
      body.push('<table>', `<tr>${s.head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>`);
      for (const row of s.rows) body.push(`<tr>${row.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`);
      body.push('</table>');
    }
  }
  if (plots.length) {
    body.push('<h2>Timelines</h2>');
    for (const p of plots) body.push(`<figure>${p.svg}<figcaption>${escape(p.title)}</figcaption></figure>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crs-sentinel replay report</title>
<style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
