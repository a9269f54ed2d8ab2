/**
 * CrsAssessment -> CDS Hooks cards (https://cds-hooks.hl7.org/2.0/#card-attributes): at most one
 * CRS card (the worst finding) or one data-gap info card. Texts come from the card templates;
 * optional fields are left out, never empty. Suggestions are drafts for review, never applied.
 */
import type { MedicationRequest, ServiceRequest } from 'fhir/r4';
import type { CdsCard, CdsCoding, CdsLink, CdsSuggestion } from '../../cds-hooks/cds-hooks-types.js';
import type { CrsAssessment, DataGapMissing } from './assess-crs.js';
import { fillTemplate, type CrsCardTemplate, type CrsCardTemplates } from './card-templates.js';
import { describeUnit, type IgnoredReading, type Reading } from './normalize-observations.js';
import { SYSTEM } from './rule-tables.js';
import { hypotensionText } from './grade-crs.js';
import type { DataSetName, UnusedResources } from './patient-data.js';
import type { SepsisRule } from './sepsis-context.js';
import type { TherapyContext } from './therapy-context.js';

export const ASSESSMENT_EXTENSION = 'org.crs-sentinel.assessment';
export const DATA_GAP_EXTENSION = 'org.crs-sentinel.data-gap';
const SUMMARY_MAX = 139;

/** What a card links to beyond the templates: the service's own SMART app (config, not content). */
export interface CardLinkOptions {
  /** The CRS trend view's SMART launch URL (e.g. https://cds.example.org/app/launch.html). */
  trendViewLaunchUrl?: string;
}

export function renderCrsCards(
  assessment: CrsAssessment,
  templates: CrsCardTemplates,
  newUuid: () => string,
  options: CardLinkOptions = {},
): CdsCard[] {
  const outcome = assessment.outcome;
  switch (outcome.kind) {
    case 'crs-card':
    case 'afebrile-card':
    case 'sepsis-card':
      return [findingCard(assessment, outcome.kind, outcome.indicator, templates, newUuid, options)];
    case 'data-gap-card':
      return [dataGapCard(assessment, outcome.missing, templates, newUuid, options)];
    case 'no-card':
      return [];
  }
}

export type FindingCardKind = 'crs-card' | 'afebrile-card' | 'sepsis-card';

/** The card kind as named in the assessment extension. */
const CARD_KIND: Record<FindingCardKind, string> = {
  'crs-card': 'crs',
  'afebrile-card': 'afebrile-physiology',
  'sepsis-card': 'sepsis-circulation',
};

function findingCard(
  a: CrsAssessment,
  kind: FindingCardKind,
  indicator: 'warning' | 'critical',
  templates: CrsCardTemplates,
  newUuid: () => string,
  options: CardLinkOptions,
): CdsCard {
  const t = templates.crs;
  const uuid = newUuid();
  const suggestions = suggestionsFor(a, kind, t, newUuid);
  return {
    uuid,
    summary: summaryFor(a, kind, t),
    detail: detailFor(a, kind, t),
    indicator,
    source: { label: t.source.label, url: t.source.url, topic: t.source.topic },
    ...(suggestions.length && { suggestions, selectionBehavior: 'any' as const }),
    overrideReasons: t.overrideReasons.map((r): CdsCoding => ({ ...r })),
    links: linksFor(a, kind, templates, options),
    extension: { [ASSESSMENT_EXTENSION]: assessmentExtension(a, CARD_KIND[kind]) },
  };
}

function dataGapCard(
  a: CrsAssessment,
  missing: DataGapMissing,
  templates: CrsCardTemplates,
  newUuid: () => string,
  options: CardLinkOptions,
): CdsCard {
  const t = templates.crs;
  const { summary, body } = dataGapText(a, missing, t);
  return {
    uuid: newUuid(),
    summary: fit(summary),
    detail: [
      ...body,
      therapyLine(a),
      missingSection(a, t.detail.missingHeading),
      notUsedSection(a, t.detail.notUsedHeading),
      `*${fillTemplate(t.detail.advisory, {})}*`,
    ]
      .filter((line) => line !== '')
      .join('\n\n'),
    indicator: 'info',
    source: { label: t.source.label, url: t.source.url, topic: t.source.topic },
    links: linksFor(a, 'crs-card', templates, options),
    extension: {
      [DATA_GAP_EXTENSION]: {
        context: a.contexts,
        missing,
        dataGaps: a.dataGaps.map((g) => g.code),
        ...therapyFields(a),
      },
    },
  };
}

/** How a cut-off data set is named on a card. */
const DATA_SET_LABELS: Record<DataSetName, string> = {
  patient: 'patient record',
  vitals: 'vital signs',
  labs: 'laboratory results',
  medicationAdministrations: 'medication administrations',
  conditions: 'diagnoses',
  procedures: 'procedures',
  encounters: 'encounters',
};

function dataGapText(
  a: CrsAssessment,
  missing: DataGapMissing,
  t: CrsCardTemplates['crs'],
): { summary: string; body: string[] } {
  const therapy = a.therapy[0];
  const hours = Math.round((Date.parse(a.now) - Date.parse(a.windowStart)) / 3_600_000);
  const context = therapy ? contextPhrase(therapy, t) : 'sepsis context';
  const window = formatTime(a.windowStart);
  if (missing === 'complete-data') {
    const sets = a.truncated.map((set) => DATA_SET_LABELS[set]).join(', ');
    return {
      summary: capitalise(fillTemplate(t.summary.dataGapTruncated, { sets, context })),
      body: [fillTemplate(t.detail.dataGapTruncatedBody, { sets, window })],
    };
  }
  if (missing === 'temperature') {
    const evidence = physiologyItems(a, false).join(', ');
    return {
      summary: fillTemplate(t.summary.dataGapTemperature, { hours, context, evidence }),
      body: [
        fillTemplate(t.detail.dataGapTemperatureBody, { window, evidence: asText(evidence) }) +
          paediatricThreshold(a),
        `**${t.detail.evidenceHeading}** (since ${window})\n\n${evidenceTable(a)}`,
      ],
    };
  }
  return {
    summary: fillTemplate(t.summary.dataGap, { hours, context }),
    body: [fillTemplate(t.detail.dataGapBody, { window })],
  };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

function summaryFor(a: CrsAssessment, kind: FindingCardKind, t: CrsCardTemplate): string {
  const grade = String(a.grade.grade);
  const therapy = a.therapy[0];
  const context = therapy ? contextPhrase(therapy, t) : '';
  const build = (items: readonly string[]): string => {
    const evidence = items.join(', ');
    if (kind === 'sepsis-card') return fillTemplate(t.summary.sepsis, { evidence });
    if (kind === 'afebrile-card') return capitalise(fillTemplate(t.summary.afebrile, { evidence, context }));
    return fillTemplate(t.summary.therapy, { grade, evidence, context });
  };
  // Drop the least important evidence until the summary fits (CDS Hooks: < 140 characters); then
  // say the same findings shorter ("2 vasopressors"), so the finding that set the grade stays:
  // never drop the fever phrase and the first physiology phrase (the worse domain).
  const itemsFor = (compact: boolean): string[] =>
    kind === 'crs-card' ? evidenceItems(a, compact) : physiologyItems(a, compact);
  const leading = kind === 'crs-card' ? feverItems(a).length : 0;
  for (const compact of [false, true]) {
    const evidence = itemsFor(compact);
    const keep = Math.max(1, Math.min(evidence.length, leading + 1));
    for (let n = evidence.length; n >= keep; n--) {
      const summary = build(evidence.slice(0, n));
      if (summary.length <= SUMMARY_MAX) return summary;
    }
  }
  const compact = itemsFor(true);
  return fit(build(compact.slice(0, Math.max(1, Math.min(compact.length, leading + 1)))));
}

function fit(text: string): string {
  return text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Short evidence phrases, most important first: fever (or why it is not required), then the
 * domain that sets the grade, then the other domain, so the summary always says why.
 */
function evidenceItems(a: CrsAssessment, compact: boolean): string[] {
  return [...feverItems(a), ...physiologyItems(a, compact), ...missingDomainItems(a)];
}

function feverItems(a: CrsAssessment): string[] {
  const v = a.vitals;
  if (a.grade.feverPresent && v.fever.highest) return [`${v.fever.highest.value} °C`];
  if (a.grade.feverMaskedBy.length) return [`afebrile after ${a.grade.feverMaskedBy[0]?.name ?? ''}`];
  return [];
}

/**
 * A domain with no usable reading is not normal: "no BP or SpO2 charted" tells the reader the
 * grade may be higher (the detail lists the data gaps).
 */
function missingDomainItems(a: CrsAssessment): string[] {
  const codes = new Set(a.dataGaps.map((g) => g.code));
  const missing = [
    ...(codes.has('no-blood-pressure') && a.vitals.vasopressors.agents.length === 0 ? ['BP'] : []),
    ...(codes.has('no-spo2') && a.grade.hypoxiaDomain === 0 ? ['SpO2'] : []),
  ];
  return missing.length ? [`no ${missing.join(' or ')} charted`] : [];
}

/** Circulation and oxygen phrases, the worse domain first. */
function physiologyItems(a: CrsAssessment, compact: boolean): string[] {
  const v = a.vitals;
  const circulation: string[] = [];
  const pressors = v.vasopressors.agents;
  if (pressors.length) {
    circulation.push(
      compact && pressors.length > 1
        ? `${pressors.length} vasopressors`
        : pressors.map((p) => p.name).join(' + '),
    );
  }
  if (
    v.hypotension.present ||
    (v.hypotension.lowReadingTimes > 0 && (pressors.length > 0 || a.outcome.kind !== 'crs-card'))
  )
    circulation.push(
      hypotensionText(v)
        .replace(/ < \d+( \([^)]*\))?/g, '')
        .replace(/ \(\d+ readings?\)/, ''),
    );
  const oxygen =
    a.grade.hypoxiaDomain > 0 ? [compact ? `${a.vitals.oxygen.supportClass} O2` : oxygenPhrase(a)] : [];
  if (a.outcome.kind === 'sepsis-card') return circulation;
  if (a.grade.hypoxiaDomain > a.grade.hypotensionDomain) return [...oxygen, ...circulation];
  return [...circulation, ...oxygen];
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

function detailFor(a: CrsAssessment, kind: FindingCardKind, t: CrsCardTemplate): string {
  const d = t.detail;
  const evidence = `**${d.evidenceHeading}** (since ${formatTime(a.windowStart)})\n\n${evidenceTable(a)}`;
  const rule =
    kind === 'crs-card'
      ? `**${d.ruleHeading}:** grade ${String(a.grade.grade)} (ASTCT 2019): ${asText(a.grade.basis.join('; '))}.`
      : kind === 'afebrile-card'
        ? `**${d.ruleHeading}:** ${asText(afebrileRule(a))}.`
        : `**${d.ruleHeading}:** ${asText(circulationRule(a))}.`;
  const body = kind === 'afebrile-card' ? d.afebrileBody : kind === 'sepsis-card' ? d.sepsisBody : '';
  const sections = [
    body,
    therapyLine(a),
    sepsisLine(a),
    evidence,
    rule,
    missingSection(a, d.missingHeading),
    notUsedSection(a, d.notUsedHeading),
    labsSection(a, d.labsHeading),
    `**${d.considerHeading}:**\n\n${considerItems(a, kind, t)
      .map((item) => `- ${asText(capitalise(item))}`)
      .join('\n')}`,
    `*${fillTemplate(d.advisory, {})}*`,
  ];
  return sections.filter((s) => s !== '').join('\n\n');
}

/**
 * The age-adjusted blood-pressure threshold a child's card applied (Goldstein 2005 band), as a
 * sentence; empty for adults. Every card that reads a child's blood pressure states it.
 */
function paediatricThreshold(a: CrsAssessment): string {
  const h = a.vitals.hypotension;
  if (h.paediatricBand === undefined) return '';
  return ` Age-adjusted threshold applied: SBP < ${h.systolicBelow} mmHg (age ${String(h.paediatricAgeYears ?? '')} y, Goldstein 2005 band ${h.paediatricBand}; MAP not used in children).`;
}

/** Why an afebrile-physiology card fired: what was seen, and why fever is still required. */
function afebrileRule(a: CrsAssessment): string {
  const seen = capitalise(physiologyItems(a, false).join(', '));
  const threshold = a.vitals.fever.thresholdCelsius;
  const onset = a.grade.crsOnset;
  if (onset) {
    return `${seen}; no temperature >= ${threshold} °C in the window. CRS was documented at ${formatTime(onset.time)} (${onset.detail}), but no antipyretic, anticytokine or steroid was given after it, so ASTCT still requires fever and no CRS grade is given.${paediatricThreshold(a)}`.replace(
      /\.$/,
      '',
    );
  }
  const since = a.grade.episodeStart !== undefined ? ` since ${formatTime(a.grade.episodeStart)}` : '';
  return `${seen}; no temperature >= ${threshold} °C${since} and no CRS diagnosis, so ASTCT CRS criteria are not met and no CRS grade is given.${paediatricThreshold(a)}`.replace(
    /\.$/,
    '',
  );
}

/** Why a sepsis-context card fired: the vasopressors, or confirmed hypotension, and lactate. */
function circulationRule(a: CrsAssessment): string {
  const v = a.vitals;
  const parts: string[] = [];
  if (v.vasopressors.agents.length)
    parts.push(
      `Vasopressor infusion in the window (${v.vasopressors.agents.map((p) => p.name).join(' + ')})`,
    );
  if (v.hypotension.present) parts.push(capitalise(hypotensionText(v)));
  const lactate = a.labs.lactate;
  if (lactate?.aboveShockThreshold)
    parts.push(`lactate ${lactate.latest.value} mmol/L above the Sepsis-3 shock threshold`);
  const bolus = a.fluids[a.fluids.length - 1];
  if (bolus) parts.push(`fluid bolus at ${formatTime(bolus.time)} (${bolus.text})`);
  return parts.join('; ');
}

function therapyLine(a: CrsAssessment): string {
  return a.therapy
    .map((c) => {
      const kind = c.kind === 'car-t' ? 'Cell therapy' : 'Bispecific';
      const window = c.kind === 'car-t' ? `, ${c.window} window` : '';
      const when =
        c.matchedBy === 'diagnosis'
          ? `infusion date unknown, diagnosis dated ${formatTime(c.latestDose)}`
          : c.running
            ? `infusion running since ${formatTime(c.exposureStart)}`
            : `latest dose ${formatTime(c.latestDose)}`;
      const recognised = asText(matchedSource(c.matchedBy, c.matchedOn));
      return `**${kind}:** ${asText(c.agent.name)}, ${when} (day ${c.daysSinceDose}, ${c.hoursSinceDose} h${window}; recognised by ${recognised}).`;
    })
    .join('\n\n');
}

const SEPSIS_RULE_TEXT: Record<SepsisRule, string> = {
  diagnosis: 'a sepsis diagnosis of this admission',
  'suspected-infection-with-sirs': 'suspected infection (antimicrobials with treatment intent) with SIRS',
  'suspected-infection-with-qsofa': 'suspected infection (antimicrobials with treatment intent) with qSOFA',
  'suspected-infection-with-vasopressor':
    'suspected infection (antimicrobials with treatment intent) with a vasopressor (cardiovascular SOFA >= 2, Sepsis-3)',
  'vasopressor-with-infection-signs':
    'a vasopressor with signs of infection, before any antimicrobial is charted',
  'vasopressor-shock-with-sirs':
    'shock on several vasopressors with SIRS, before any antimicrobial is charted',
};

function sepsisLine(a: CrsAssessment): string {
  const s = a.sepsis;
  if (!s) return '';
  const parts: string[] = [];
  if (s.diagnoses.length) {
    const codes = s.diagnoses.map(
      (dx) => `${systemName(dx.system)} ${dx.code}${dx.display !== undefined ? ` ${dx.display}` : ''}`,
    );
    parts.push(`${SEPSIS_RULE_TEXT.diagnosis} (${codes.join('; ')})`);
  }
  const abx = s.antibiotics.map((x) => `${x.name} since ${formatTime(x.firstGiven)}: ${x.basis}`).join('; ');
  const child = s.paediatricBand !== undefined ? `, age band ${s.paediatricBand} (Goldstein 2005)` : '';
  const around =
    s.onsetWindow !== undefined
      ? ` (between ${formatTime(s.onsetWindow.from)} and ${formatTime(s.onsetWindow.to)}, around the first dose at ${formatTime(s.onsetWindow.onset)}: Seymour 2016)`
      : '';
  if (s.rulesFired.includes('suspected-infection-with-sirs'))
    parts.push(
      `${SEPSIS_RULE_TEXT['suspected-infection-with-sirs']}${child}: ${s.sirsCriteria.join(', ')}${around}; drugs: ${abx}`,
    );
  if (s.rulesFired.includes('suspected-infection-with-qsofa'))
    parts.push(
      `${SEPSIS_RULE_TEXT['suspected-infection-with-qsofa']}: ${s.qsofaCriteria.join(', ')}${around}; drugs: ${abx}`,
    );
  if (
    s.rulesFired.includes('suspected-infection-with-vasopressor') &&
    !s.rulesFired.includes('suspected-infection-with-sirs') &&
    !s.rulesFired.includes('suspected-infection-with-qsofa')
  )
    parts.push(`${SEPSIS_RULE_TEXT['suspected-infection-with-vasopressor']}; drugs: ${abx}`);
  if (s.rulesFired.includes('vasopressor-with-infection-signs'))
    parts.push(`${SEPSIS_RULE_TEXT['vasopressor-with-infection-signs']}: ${s.infectionSigns.join(', ')}`);
  if (s.rulesFired.includes('vasopressor-shock-with-sirs'))
    parts.push(
      `${SEPSIS_RULE_TEXT['vasopressor-shock-with-sirs']}: ${(s.shockVasopressors ?? []).join(' + ')}; ${s.sirsCriteria.join(', ')}`,
    );
  const ignored = s.notCounted.length
    ? ` Not counted as evidence of infection: ${s.notCounted.map((x) => `${x.name} (${x.basis})`).join('; ')}.`
    : '';
  return `**Sepsis context:** ${asText(capitalise(parts.join('; ')))}.${asText(ignored)}`;
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
      time: formatTime(p.running ? p.since : p.lastSeen),
      finding: p.countsTowardSeveral ? 'Vasopressor' : 'Vasopressor (not counted toward several)',
      value: p.running
        ? `${p.name}, running since ${formatTime(p.since)}`
        : `${p.name}, given until ${formatTime(p.lastSeen)}`,
      unit: '',
      source: matchedSource(p.matchedBy, p.matchedOn),
    });
  }
  for (const p of v.vasopressors.notCounted) {
    rows.push({
      time: formatTime(p.time),
      finding: 'Vasopressor dose, not counted',
      value: `${p.name}: ${p.reason}`,
      unit: '',
      source: '',
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
  if (a.grade.crsOnset) {
    rows.push({
      time: formatTime(a.grade.crsOnset.time),
      finding: 'CRS first documented',
      value: a.grade.crsOnset.detail,
      unit: '',
      source: a.grade.crsOnset.basis,
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
  if (g.surfaceOnly.length)
    items.push(
      `Not counted as fever-masking therapy (given on the skin, eye, ear, nose or airways, acts where applied): ${g.surfaceOnly.map((m) => `${m.name} (${formatTime(m.lastGiven)})`).join(', ')}.`,
    );
  if (g.premedication.length) {
    items.push(
      `Given before any fever (premedication): ${g.premedication.map((m) => `${m.name} (${formatTime(m.lastGiven)})`).join(', ')}; it does not waive the fever requirement.`,
    );
  }
  const h = a.vitals.hypotension;
  if (!h.present && h.lowReadingTimes > 0 && a.vitals.vasopressors.agents.length === 0) {
    items.push(
      `${h.lowReadingTimes} blood pressure reading(s) below threshold, not repeated (${h.confirmReadings} needed): not counted as hypotension.`,
    );
  }
  if (a.vitals.oxygen.positivePressureWithoutOxygenNeed)
    items.push(
      'Positive pressure charted without any oxygen need (e.g. home CPAP on room air): not counted.',
    );
  const v = a.vitals;
  if (g.feverBeforeExposure)
    items.push(
      `Fever ${g.feverBeforeExposure.value} °C at ${formatTime(g.feverBeforeExposure.time)} was before the latest therapy exposure${g.episodeStart !== undefined ? ` (${formatTime(g.episodeStart)})` : ''}: not counted as CRS.`,
    );
  else if (g.temperatureState === 'afebrile' && v.fever.highest)
    items.push(`Afebrile: highest ${v.fever.highest.value} °C.`);
  if (g.temperatureState === 'hypothermic' && v.fever.hypothermia)
    items.push(`Hypothermic: lowest ${v.fever.hypothermia.value} °C.`);
  // The data gap says it when the recent window has no usable temperature.
  if (g.temperatureState === 'no-temperature' && !a.dataGaps.some((gap) => gap.code === 'no-temperature'))
    items.push('No usable temperature in the window.');
  for (const gap of a.dataGaps) items.push(`${capitalise(gap.detail)}.`);
  items.push(...ignoredSummary(a.ignoredReadings));
  if (v.vasopressors.inotropes.length) {
    items.push(
      `Inotropes not counted as vasopressors: ${v.vasopressors.inotropes.map((i) => i.name).join(', ')}.`,
    );
  }
  for (const p of a.pastTherapy)
    items.push(`${p.agent.name} was given ${p.daysSinceDose} days ago: outside the CRS window.`);
  if (!items.length) return '';
  return `**${heading}:**\n\n${items.map((i) => `- ${asText(capitalise(i))}`).join('\n')}`;
}

const UNUSED_TEXT: Record<UnusedResources['reason'], string> = {
  'other-patient': "another patient's",
  'no-patient-reference': 'no patient reference',
  malformed: 'unreadable',
};

/** Resources received but not used: counts by type and reason, never ids. */
function notUsedSection(a: CrsAssessment, heading: string): string {
  if (!a.unused.length) return '';
  const items = a.unused.map(
    (u) =>
      `${u.count} ${u.resourceType} resource(s): ${UNUSED_TEXT[u.reason]}${u.detail !== undefined ? ` (${u.detail})` : ''}.`,
  );
  return `**${heading}:**\n\n${items.map((i) => `- ${asText(capitalise(i))}`).join('\n')}`;
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
  return `**${heading}:**\n\n${items.map((i) => `- ${asText(capitalise(i))}`).join('\n')}`;
}

/** The sepsis rules that fire only while no antimicrobial is charted (sepsis-context.ts). */
const BEFORE_ANTIMICROBIALS: readonly SepsisRule[] = [
  'vasopressor-with-infection-signs',
  'vasopressor-shock-with-sirs',
];

function considerItems(a: CrsAssessment, kind: FindingCardKind, t: CrsCardTemplate): string[] {
  const d = t.detail;
  if (kind === 'sepsis-card') {
    const beforeAntimicrobials = (a.sepsis?.rulesFired ?? []).some((r) => BEFORE_ANTIMICROBIALS.includes(r));
    return [
      ...(beforeAntimicrobials ? [fillTemplate(d.sepsisNoAntimicrobial, {})] : []),
      fillTemplate(d.infectionWorkupSepsis, {}),
      fillTemplate(d.sepsisManagement, {}),
    ];
  }
  if (kind === 'afebrile-card') {
    const items = [fillTemplate(d.afebrileConsider, {}), fillTemplate(d.infectionWorkupSepsis, {})];
    if (a.sepsis) items.push(fillTemplate(d.sepsisManagement, {}));
    return items;
  }
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

function linksFor(
  a: CrsAssessment,
  kind: FindingCardKind,
  templates: CrsCardTemplates,
  options: CardLinkOptions,
): CdsLink[] {
  const t = templates.crs;
  const links: CdsLink[] = kind === 'sepsis-card' ? [] : [{ ...t.links.guideline, type: 'absolute' }];
  for (const c of a.therapy) {
    const label = templates.productLabels[c.agent.id];
    if (label) links.push({ ...label, type: 'absolute' });
  }
  if (kind === 'crs-card' && a.therapy.length) links.push({ ...t.links.tocilizumabLabel, type: 'absolute' });
  if (a.sepsis) links.push({ ...t.links.sepsis, type: 'absolute' });
  const trendView = trendViewLink(a, t.links.trendView?.label, options.trendViewLaunchUrl);
  if (trendView) links.unshift(trendView);
  const seen = new Set<string>();
  return links.filter((l) => !seen.has(l.url) && seen.add(l.url));
}

/**
 * The SMART link to the CRS trend view (CDS Hooks 2.0 Link type `smart`): in a CAR-T or
 * bispecific window only, with `appContext` carrying the therapy index dose (the earliest
 * exposure start of the current windows) so the app opens on the therapy window. An EHR that
 * drops appContext still gets a useful view: the app then finds the index dose itself.
 */
function trendViewLink(
  a: CrsAssessment,
  label: string | undefined,
  url: string | undefined,
): CdsLink | undefined {
  if (label === undefined || url === undefined || a.therapy.length === 0) return undefined;
  const index = [...a.therapy].sort((x, y) => x.exposureStart.localeCompare(y.exposureStart))[0];
  if (!index) return undefined;
  const appContext = JSON.stringify({ indexTime: index.exposureStart, agent: index.agent.name });
  return { label, url, type: 'smart', appContext };
}

function suggestionsFor(
  a: CrsAssessment,
  kind: FindingCardKind,
  t: CrsCardTemplate,
  newUuid: () => string,
): CdsSuggestion[] {
  if (a.patientId === undefined) return [];
  const suggestions: CdsSuggestion[] = [];
  const tz = a.tocilizumab.suggestion;
  // A drug draft only on a CRS card that the guideline supports for this patient, at this dose.
  if (kind === 'crs-card' && tz.allowed) {
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
    reasonCode: [{ text: 'Infection work-up: hypotension, hypoxia or fever (crs-sentinel, advisory)' }],
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
export function assessmentExtension(a: CrsAssessment, cardKind = 'crs'): Record<string, unknown> {
  const v = a.vitals;
  const g = a.grade;
  const ignored: Record<string, number> = {};
  for (const r of a.ignoredReadings) ignored[r.reason] = (ignored[r.reason] ?? 0) + 1;
  const nonEmpty = <T>(key: string, list: readonly T[]): Record<string, readonly T[]> =>
    list.length ? { [key]: list } : {};
  return {
    cardKind,
    grade: g.grade,
    scale: 'ASTCT-2019',
    context: a.contexts,
    ...therapyFields(a),
    ...(a.sepsis && { sepsisRules: a.sepsis.rulesFired }),
    ...(a.sepsis?.antibiotics.length && { antimicrobials: a.sepsis.antibiotics.map((x) => x.name) }),
    ...(g.crsOnset && { crsOnset: g.crsOnset.time }),
    ...(a.age.known && { ageYears: a.age.years }),
    ...(v.hypotension.paediatricBand !== undefined && { systolicThresholdMmHg: v.hypotension.systolicBelow }),
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
    ...nonEmpty(
      'unusedResources',
      a.unused.map((u) => ({ resourceType: u.resourceType, reason: u.reason, count: u.count })),
    ),
    tocilizumab: {
      dosesIn24h: a.tocilizumab.dosesIn24h,
      dosesTotal: a.tocilizumab.dosesTotal,
      draftOffered: cardKind === 'crs' && a.tocilizumab.suggestion.allowed && a.patientId !== undefined,
      ...(a.tocilizumab.suggestion.allowed
        ? { doseMg: a.tocilizumab.suggestion.doseMg, mgPerKg: a.tocilizumab.suggestion.mgPerKg }
        : { blockedBecause: a.tocilizumab.suggestion.reason }),
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
  return asText(text).replace(/\|/g, '\\|');
}

/**
 * Text that holds anything from the patient's record (a device name, a diagnosis display, the
 * text a medication was recognised by, a unit) goes into the Markdown detail as text, never as
 * markup: a display such as `![x](https://host/t.png)` would make the EHR fetch that image when it
 * shows the card, and `[guideline](https://host)` would put a link in a card clinicians trust.
 * CommonMark (spec 0.30, section 2.4) lets any ASCII punctuation be backslash-escaped; escaped
 * are the characters that open links and images (`[`, `]`), code spans, emphasis and
 * strikethrough, a `<` that could open raw HTML or an autolink (before a letter, `/`, `!` or `?`)
 * and an `&` that could open an entity, so the service's own "SBP 84 mmHg < 90" stays free of
 * escapes. Line breaks become spaces (a new line could start a heading, quote, list or table).
 * Only the renderer's own markup (headings in bold, lists, the evidence table) is written around
 * such text, never through it.
 */
function asText(text: string): string {
  return text.replace(/[\\`*_[\]~]|<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)/g, '\\$&').replace(/[\r\n]+/g, ' ');
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
  if (matchedBy === 'name') return `name "${matchedOn.replace(/[|\n]/g, ' ')}"`;
  const [system, code] = matchedOn.split('|');
  return `${systemName(system ?? '')} ${code ?? ''}`.trim();
}
