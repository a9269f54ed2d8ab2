/**
 * CrsAssessment -> CDS Hooks cards (https://cds-hooks.hl7.org/2.0/#card-attributes): at most one
 * CRS card (the worst finding) or one data-gap info card. Texts come from the card templates;
 * optional fields are left out, never empty. Suggestions are drafts for review, never applied.
 */
import type { MedicationRequest, ServiceRequest } from 'fhir/r4';
import type { CdsCard, CdsCoding, CdsLink, CdsSuggestion } from '../../cds-hooks/cds-hooks-types.js';
import type { CrsAssessment } from './assess-crs.js';
import { fillTemplate, type CrsCardTemplate, type CrsCardTemplates } from './card-templates.js';
import { describeUnit, type IgnoredReading, type Reading } from './normalize-observations.js';
import { SYSTEM } from './rule-tables.js';
import { hypotensionText } from './grade-crs.js';
import type { TherapyContext } from './therapy-context.js';

export const ASSESSMENT_EXTENSION = 'org.crs-sentinel.assessment';
export const DATA_GAP_EXTENSION = 'org.crs-sentinel.data-gap';
const SUMMARY_MAX = 139;

export function renderCrsCards(
  assessment: CrsAssessment,
  templates: CrsCardTemplates,
  newUuid: () => string,
): CdsCard[] {
  switch (assessment.outcome.kind) {
    case 'crs-card':
      return [crsCard(assessment, assessment.outcome.indicator, templates, newUuid)];
    case 'data-gap-card':
      return [dataGapCard(assessment, templates, newUuid)];
    case 'no-card':
      return [];
  }
}

function crsCard(
  a: CrsAssessment,
  indicator: 'warning' | 'critical',
  templates: CrsCardTemplates,
  newUuid: () => string,
): CdsCard {
  const t = templates.crs;
  const uuid = newUuid();
  const suggestions = suggestionsFor(a, t, newUuid);
  return {
    uuid,
    summary: summaryFor(a, t),
    detail: detailFor(a, t),
    indicator,
    source: { label: t.source.label, url: t.source.url, topic: t.source.topic },
    ...(suggestions.length && { suggestions, selectionBehavior: 'any' as const }),
    overrideReasons: t.overrideReasons.map((r): CdsCoding => ({ ...r })),
    links: linksFor(a, templates),
    extension: { [ASSESSMENT_EXTENSION]: assessmentExtension(a) },
  };
}

function dataGapCard(a: CrsAssessment, templates: CrsCardTemplates, newUuid: () => string): CdsCard {
  const t = templates.crs;
  const therapy = a.therapy[0];
  const hours = Math.round((Date.parse(a.now) - Date.parse(a.windowStart)) / 3_600_000);
  const context = therapy ? contextPhrase(therapy, t) : 'sepsis context';
  return {
    uuid: newUuid(),
    summary: fit(fillTemplate(t.summary.dataGap, { hours, context })),
    detail: [
      fillTemplate(t.detail.dataGapBody, { window: formatTime(a.windowStart) }),
      therapyLine(a),
      `*${fillTemplate(t.detail.advisory, {})}*`,
    ]
      .filter((line) => line !== '')
      .join('\n\n'),
    indicator: 'info',
    source: { label: t.source.label, url: t.source.url, topic: t.source.topic },
    links: linksFor(a, templates),
    extension: {
      [DATA_GAP_EXTENSION]: {
        context: a.contexts,
        dataGaps: a.dataGaps.map((g) => g.code),
        ...therapyFields(a),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

function summaryFor(a: CrsAssessment, t: CrsCardTemplate): string {
  const grade = String(a.grade.grade);
  const therapy = a.therapy[0];
  const evidence = evidenceItems(a);
  const build = (items: string[]): string =>
    therapy
      ? fillTemplate(t.summary.therapy, {
          grade,
          evidence: items.join(', '),
          context: contextPhrase(therapy, t),
        })
      : fillTemplate(t.summary.sepsis, { grade, evidence: items.join(', ') });
  // Drop the least important evidence until the summary fits (CDS Hooks: < 140 characters).
  for (let n = evidence.length; n > 0; n--) {
    const summary = build(evidence.slice(0, n));
    if (summary.length <= SUMMARY_MAX) return summary;
  }
  return fit(build(evidence.slice(0, 1)));
}

function fit(text: string): string {
  return text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`;
}

/**
 * Short evidence phrases, most important first: fever (or why it is not required), then the
 * domain that sets the grade, then the other domain, so the summary always says why.
 */
function evidenceItems(a: CrsAssessment): string[] {
  const v = a.vitals;
  const items: string[] = [];
  if (v.fever.present && v.fever.highest) items.push(`${v.fever.highest.value} °C`);
  else if (a.grade.feverMaskedBy.length && a.therapy.length)
    items.push(`afebrile after ${a.grade.feverMaskedBy[0]?.name ?? ''}`);
  else if (a.grade.temperatureState === 'hypothermic' && v.fever.hypothermia)
    items.push(`hypothermic ${v.fever.hypothermia.value} °C`);
  const circulation: string[] = [];
  const pressors = v.vasopressors.agents.map((p) => p.name);
  if (pressors.length) circulation.push(pressors.join(' + '));
  if (v.hypotension.present) circulation.push(hypotensionText(v).replace(/ < \d+( \(age \d+\))?/g, ''));
  const oxygen = a.grade.hypoxiaDomain > 0 ? [oxygenPhrase(a)] : [];
  if (a.grade.hypoxiaDomain > a.grade.hypotensionDomain) items.push(...oxygen, ...circulation);
  else items.push(...circulation, ...oxygen);
  return items;
}

/** The longest device name the summary quotes; longer ones are left to the detail table. */
const SUMMARY_DEVICE_MAX = 24;

function oxygenPhrase(a: CrsAssessment): string {
  const o = a.vitals.oxygen;
  if (o.hypoxiaWithoutSupport && o.lowestSpo2) return `SpO2 ${o.lowestSpo2.value} %`;
  const device = o.devices.find((d) => d.supportClass === o.supportClass)?.text;
  const detail = [
    ...(device !== undefined && device.length <= SUMMARY_DEVICE_MAX ? [device] : []),
    // Flow sets the low/high-flow class; under positive pressure it says nothing more.
    ...(o.highestFlow && o.supportClass !== 'positive-pressure' ? [`${o.highestFlow.value} L/min`] : []),
  ];
  return `${o.supportClass} O2${detail.length ? ` (${detail.join(', ')})` : ''}`;
}

function contextPhrase(therapy: TherapyContext, t: CrsCardTemplate): string {
  if (therapy.kind === 'bispecific') {
    return fillTemplate(t.contextPhrase.bispecific, {
      hours: therapy.hoursSinceDose,
      agent: therapy.agent.name,
    });
  }
  const template = therapy.window === 'extended' ? t.contextPhrase.carTExtended : t.contextPhrase.carT;
  return fillTemplate(template, { day: therapy.daysSinceDose, agent: therapy.agent.name });
}

// ---------------------------------------------------------------------------------------------
// Detail (Markdown)
// ---------------------------------------------------------------------------------------------

function detailFor(a: CrsAssessment, t: CrsCardTemplate): string {
  const d = t.detail;
  const sections = [
    therapyLine(a),
    sepsisLine(a),
    `**${d.evidenceHeading}** (since ${formatTime(a.windowStart)})\n\n${evidenceTable(a)}`,
    `**${d.ruleHeading}:** grade ${String(a.grade.grade)} (ASTCT 2019): ${a.grade.basis.join('; ')}.`,
    missingSection(a, d.missingHeading),
    labsSection(a, d.labsHeading),
    `**${d.considerHeading}:**\n\n${considerItems(a, t)
      .map((item) => `- ${item}`)
      .join('\n')}`,
    `*${fillTemplate(d.advisory, {})}*`,
  ];
  return sections.filter((s) => s !== '').join('\n\n');
}

function therapyLine(a: CrsAssessment): string {
  return a.therapy
    .map((c) => {
      const kind = c.kind === 'car-t' ? 'CAR-T' : 'Bispecific';
      const window = c.kind === 'car-t' ? `, ${c.window} window` : '';
      return `**${kind}:** ${c.agent.name}, latest dose ${formatTime(c.latestDose)} (day ${c.daysSinceDose}, ${c.hoursSinceDose} h${window}; recognised by ${c.matchedBy}: ${escapeCell(c.matchedOn)}).`;
    })
    .join('\n\n');
}

function sepsisLine(a: CrsAssessment): string {
  const s = a.sepsis;
  if (!s) return '';
  const parts: string[] = [];
  if (s.diagnoses.length) {
    const codes = s.diagnoses.map(
      (dx) => `${systemName(dx.system)} ${dx.code}${dx.display !== undefined ? ` ${dx.display}` : ''}`,
    );
    parts.push(`diagnosis (${codes.join('; ')})`);
  }
  const abx = s.antibiotics.map((x) => x.name).join(', ');
  if (s.rulesFired.includes('antibiotics-with-sirs'))
    parts.push(`antibiotics (${abx}) with SIRS: ${s.sirsCriteria.join(', ')}`);
  if (s.rulesFired.includes('antibiotics-with-qsofa'))
    parts.push(`antibiotics (${abx}) with qSOFA: ${s.qsofaCriteria.join(', ')}`);
  return `**Sepsis context:** ${parts.join('; ')}.`;
}

interface EvidenceRow {
  time: string;
  finding: string;
  value: string;
  unit: string;
  source: string;
}

function evidenceTable(a: CrsAssessment): string {
  const rows = evidenceRows(a);
  if (!rows.length) return 'No readings in the window.';
  const header = '| Time (UTC) | Finding | Value | Unit | Source code |\n|---|---|---|---|---|';
  const lines = rows.map(
    (r) => `| ${[r.time, r.finding, r.value, r.unit, r.source].map(escapeCell).join(' | ')} |`,
  );
  return [header, ...lines].join('\n');
}

function readingRow(finding: string, r: Reading): EvidenceRow {
  const sent = r.original ? ` (sent ${r.original.value} ${r.original.unit})` : '';
  const component = r.source.componentOf !== undefined ? ` in ${r.source.componentOf}` : '';
  return {
    time: formatTime(r.time),
    finding,
    value: String(r.value),
    unit: describeUnit(r.unit),
    source: `${systemName(r.source.system)} ${r.source.code}${component}${sent}`,
  };
}

function evidenceRows(a: CrsAssessment): EvidenceRow[] {
  const v = a.vitals;
  const rows: EvidenceRow[] = [];
  if (v.fever.highest) rows.push(readingRow('Temperature, highest', v.fever.highest));
  if (v.fever.hypothermia) rows.push(readingRow('Temperature, lowest', v.fever.hypothermia));
  if (v.hypotension.lowestSystolic)
    rows.push(readingRow('Systolic BP, lowest', v.hypotension.lowestSystolic));
  if (v.hypotension.lowestMeanArterial)
    rows.push(readingRow('MAP, lowest', v.hypotension.lowestMeanArterial));
  for (const p of v.vasopressors.agents) {
    rows.push({
      time: formatTime(p.lastSeen),
      finding: p.countsTowardSeveral ? 'Vasopressor' : 'Vasopressor (not counted toward several)',
      value: `${p.name}, ${p.running ? 'running' : 'given'}`,
      unit: '',
      source: matchedSource(p.matchedBy, p.matchedOn),
    });
  }
  if (v.oxygen.lowestSpo2) rows.push(readingRow('SpO2, lowest', v.oxygen.lowestSpo2));
  if (v.oxygen.highestFlow) rows.push(readingRow('O2 flow, highest', v.oxygen.highestFlow));
  if (v.oxygen.highestFio2) rows.push(readingRow('FiO2, highest', v.oxygen.highestFio2));
  for (const device of v.oxygen.devices.filter((dv) => dv.supportClass !== 'none')) {
    rows.push({
      time: formatTime(device.time),
      finding: 'O2 device',
      value: `${device.text} (${device.supportClass})`,
      unit: '',
      source: `${systemName(device.source.system)} ${device.source.code}`,
    });
  }
  for (const m of a.grade.feverMaskedBy) {
    rows.push({
      time: formatTime(m.lastGiven),
      finding: `Fever-masking (${m.medicationClass})`,
      value: `${m.name}, given`,
      unit: '',
      source: '',
    });
  }
  return rows;
}

function missingSection(a: CrsAssessment, heading: string): string {
  const items: string[] = [];
  const g = a.grade;
  if (g.feverMaskedBy.length) {
    items.push(
      `Fever may be masked by ${g.feverMaskedBy.map((m) => `${m.name} (${formatTime(m.lastGiven)})`).join(', ')}.`,
    );
  }
  const v = a.vitals;
  if (g.temperatureState === 'afebrile' && v.fever.highest)
    items.push(`Afebrile: highest ${v.fever.highest.value} °C.`);
  if (g.temperatureState === 'hypothermic' && v.fever.hypothermia)
    items.push(`Hypothermic: lowest ${v.fever.hypothermia.value} °C.`);
  if (g.temperatureState === 'no-temperature') items.push('No usable temperature in the window.');
  for (const gap of a.dataGaps) items.push(`${gap.detail}.`);
  items.push(...ignoredSummary(a.ignoredReadings));
  if (v.vasopressors.inotropes.length) {
    items.push(
      `Inotropes not counted as vasopressors: ${v.vasopressors.inotropes.map((i) => i.name).join(', ')}.`,
    );
  }
  for (const p of a.pastTherapy)
    items.push(`${p.agent.name} was given ${p.daysSinceDose} days ago: outside the CRS window.`);
  if (!items.length) return '';
  return `**${heading}:**\n\n${items.map((i) => `- ${i}`).join('\n')}`;
}

function ignoredSummary(ignored: readonly IgnoredReading[]): string[] {
  const groups = new Map<string, IgnoredReading[]>();
  for (const r of ignored) groups.set(r.reason, [...(groups.get(r.reason) ?? []), r]);
  const lines: string[] = [];
  for (const [reason, readings] of groups) {
    if (reason === 'data-absent' || reason === 'no-value') {
      lines.push(`${readings.length} reading(s) recorded without a value (${reason}).`);
      continue;
    }
    const shown = readings
      .slice(0, 3)
      .map((r) => `${r.time !== undefined ? `${formatTime(r.time)}: ` : ''}${r.detail}`);
    const more = readings.length > 3 ? ` (and ${readings.length - 3} more)` : '';
    lines.push(`Not used (${reason}): ${shown.join('; ')}${more}.`);
  }
  return lines;
}

function labsSection(a: CrsAssessment, heading: string): string {
  const items = a.labs.markers.map((m) => {
    const label = { 'il-6': 'IL-6', crp: 'CRP', ferritin: 'Ferritin' }[m.kind];
    const trend =
      m.baseline && m.direction
        ? `, ${m.direction} (x${m.changeFactor ?? ''} vs ${m.baseline.value} at ${formatTime(m.baseline.time)})`
        : '';
    return `${label} ${m.latest.value} ${describeUnit(m.latest.unit)} at ${formatTime(m.latest.time)}${trend}`;
  });
  const lactate = a.labs.lactate;
  if (lactate) {
    const shock = lactate.sepsis3ShockCriterion
      ? ': with vasopressors this meets the Sepsis-3 septic shock criterion'
      : '';
    items.push(`Lactate ${lactate.latest.value} mmol/L at ${formatTime(lactate.latest.time)}${shock}`);
  }
  if (!items.length) return '';
  return `**${heading}:**\n\n${items.map((i) => `- ${i}`).join('\n')}`;
}

function considerItems(a: CrsAssessment, t: CrsCardTemplate): string[] {
  const d = t.detail;
  const tz = a.tocilizumab;
  const limits = templateLimits(a);
  const items = [fillTemplate(d.infectionWorkup, {})];
  const grade = a.grade.grade === 'none' ? 0 : a.grade.grade;
  if (a.therapy.length && grade >= 2) {
    items.push(fillTemplate(d.tocilizumab, limits));
    if (!tz.suggestion.allowed)
      items.push(fillTemplate(d.tocilizumabBlocked, { reason: tz.suggestion.reason }));
    const steroids = grade >= 4 ? d.steroidsGrade4 : grade === 3 ? d.steroidsGrade3 : d.steroidsGrade2;
    items.push(fillTemplate(steroids, {}));
  }
  for (const c of a.therapy.filter((x) => x.kind === 'bispecific'))
    items.push(fillTemplate(d.bispecificLabel, { agent: c.agent.name }));
  if (a.therapy.some((c) => c.kind === 'car-t' && c.window === 'extended'))
    items.push(fillTemplate(d.extendedWindow, {}));
  if (a.sepsis) items.push(fillTemplate(d.sepsisCaveat, {}), fillTemplate(d.sepsisManagement, {}));
  return items;
}

function templateLimits(
  a: CrsAssessment,
): Record<'maxDoseMg' | 'maxPer24h' | 'maxTotal' | 'minHours', number> {
  return { ...a.tocilizumab.limits };
}

// ---------------------------------------------------------------------------------------------
// Links, suggestions, extension
// ---------------------------------------------------------------------------------------------

function linksFor(a: CrsAssessment, templates: CrsCardTemplates): CdsLink[] {
  const t = templates.crs;
  const links: CdsLink[] = [{ ...t.links.guideline, type: 'absolute' }];
  for (const c of a.therapy) {
    const label = templates.productLabels[c.agent.id];
    if (label) links.push({ ...label, type: 'absolute' });
  }
  if (a.therapy.length) links.push({ ...t.links.tocilizumabLabel, type: 'absolute' });
  if (a.sepsis) links.push({ ...t.links.sepsis, type: 'absolute' });
  const seen = new Set<string>();
  return links.filter((l) => !seen.has(l.url) && seen.add(l.url));
}

function suggestionsFor(a: CrsAssessment, t: CrsCardTemplate, newUuid: () => string): CdsSuggestion[] {
  if (a.patientId === undefined) return [];
  const suggestions: CdsSuggestion[] = [];
  const tz = a.tocilizumab.suggestion;
  if (tz.allowed) {
    const values = { doseMg: tz.doseMg, mgPerKg: tz.mgPerKg, weightKg: tz.weightKg, ...templateLimits(a) };
    suggestions.push({
      label: fillTemplate(t.suggestions.tocilizumab.label, values),
      uuid: newUuid(),
      isRecommended: false,
      actions: [
        {
          type: 'create',
          description: fillTemplate(t.suggestions.tocilizumab.description, values),
          resource: tocilizumabRequest(
            a,
            tz.doseMg,
            fillTemplate(t.suggestions.tocilizumab.dosageText, values),
          ),
        },
      ],
    });
  }
  suggestions.push({
    label: fillTemplate(t.suggestions.bloodCultures.label, {}),
    uuid: newUuid(),
    isRecommended: false,
    actions: [
      {
        type: 'create',
        description: fillTemplate(t.suggestions.bloodCultures.description, {}),
        resource: bloodCultureRequest(a, t.suggestions.bloodCultures.code),
      },
    ],
  });
  return suggestions;
}

function subjectAndEncounter(a: CrsAssessment): Pick<MedicationRequest, 'subject' | 'encounter'> {
  return {
    subject: { reference: `Patient/${a.patientId ?? ''}` },
    ...(a.encounterId !== undefined && {
      encounter: { reference: `Encounter/${a.encounterId.replace(/^Encounter\//, '')}` },
    }),
  };
}

function crsReason(a: CrsAssessment): MedicationRequest['reasonCode'] {
  const grade = a.grade.grade;
  if (grade === 'none') return undefined;
  return [
    {
      coding: [
        {
          system: SYSTEM.icd10cm,
          code: `D89.83${grade}`,
          display: `Cytokine release syndrome, grade ${grade}`,
        },
      ],
    },
  ];
}

function tocilizumabRequest(a: CrsAssessment, doseMg: number, dosageText: string): MedicationRequest {
  const reasonCode = crsReason(a);
  return {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'proposal',
    medicationCodeableConcept: {
      coding: [{ system: SYSTEM.rxnorm, code: '612865', display: 'tocilizumab' }],
      text: 'tocilizumab',
    },
    ...subjectAndEncounter(a),
    ...(reasonCode && a.therapy.length && { reasonCode }),
    dosageInstruction: [
      {
        text: dosageText,
        route: { coding: [{ system: SYSTEM.snomed, code: '47625008', display: 'Intravenous route' }] },
        doseAndRate: [{ doseQuantity: { value: doseMg, unit: 'mg', system: SYSTEM.ucum, code: 'mg' } }],
      },
    ],
  };
}

function bloodCultureRequest(
  a: CrsAssessment,
  code: { system: string; code: string; display: string },
): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'proposal',
    code: { coding: [{ ...code }], text: 'Blood cultures' },
    ...subjectAndEncounter(a),
    reasonCode: [{ text: 'Infection work-up: CRS-consistent or shock physiology (crs-sentinel, advisory)' }],
  };
}

function therapyFields(a: CrsAssessment): Record<string, unknown> {
  const c = a.therapy[0];
  if (!c) return {};
  return {
    agent: { id: c.agent.id, name: c.agent.name, kind: c.kind },
    latestDose: c.latestDose,
    daysSinceDose: c.daysSinceDose,
    hoursSinceDose: c.hoursSinceDose,
    window: c.window,
  };
}

/** Machine-readable result; empty lists and absent values are left out. */
export function assessmentExtension(a: CrsAssessment): Record<string, unknown> {
  const v = a.vitals;
  const g = a.grade;
  const ignored: Record<string, number> = {};
  for (const r of a.ignoredReadings) ignored[r.reason] = (ignored[r.reason] ?? 0) + 1;
  const nonEmpty = <T>(key: string, list: readonly T[]): Record<string, readonly T[]> =>
    list.length ? { [key]: list } : {};
  return {
    grade: g.grade,
    scale: 'ASTCT-2019',
    context: a.contexts,
    ...therapyFields(a),
    ...(a.sepsis && { sepsisRules: a.sepsis.rulesFired }),
    hypotensionDomain: g.hypotensionDomain,
    hypoxiaDomain: g.hypoxiaDomain,
    feverPresent: g.feverPresent,
    ...(v.fever.highest && { highestTemperatureCelsius: v.fever.highest.value }),
    ...nonEmpty(
      'feverMaskedBy',
      g.feverMaskedBy.map((m) => m.name),
    ),
    ...(g.temperatureState && { temperatureState: g.temperatureState }),
    ...(v.hypotension.lowestSystolic && { lowestSystolicMmHg: v.hypotension.lowestSystolic.value }),
    ...nonEmpty(
      'vasopressors',
      v.vasopressors.agents.map((p) => p.name),
    ),
    countedVasopressors: v.vasopressors.countedAgents,
    oxygenSupport: v.oxygen.supportClass,
    ...(v.oxygen.lowestSpo2 && { lowestSpo2Percent: v.oxygen.lowestSpo2.value }),
    ...(a.labs.lactate && { lactateMmolL: a.labs.lactate.latest.value }),
    ...nonEmpty(
      'dataGaps',
      a.dataGaps.map((d) => d.code),
    ),
    ...(Object.keys(ignored).length && { ignoredReadings: ignored }),
    tocilizumab: {
      dosesIn24h: a.tocilizumab.dosesIn24h,
      dosesTotal: a.tocilizumab.dosesTotal,
      draftOffered: a.tocilizumab.suggestion.allowed && a.patientId !== undefined,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** "2133-12-18 19:34Z". */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function systemName(system: string): string {
  const known: Record<string, string> = {
    [SYSTEM.loinc]: 'LOINC',
    [SYSTEM.rxnorm]: 'RxNorm',
    [SYSTEM.snomed]: 'SNOMED CT',
    [SYSTEM.icd10cm]: 'ICD-10-CM',
    [SYSTEM.icd9cm]: 'ICD-9-CM',
    [SYSTEM.icd10pcs]: 'ICD-10-PCS',
    [SYSTEM.cpt]: 'CPT',
  };
  return known[system] ?? system.split('/').pop() ?? system;
}

function matchedSource(matchedBy: string, matchedOn: string): string {
  if (matchedBy === 'name') return `name "${matchedOn}"`;
  const [system, code] = matchedOn.split('|');
  return `${systemName(system ?? '')} ${code ?? ''}`.trim();
}
