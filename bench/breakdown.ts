/**
 * Where the time of one prefetch hook goes, in process (no HTTP): the same stages the service runs
 * for POST /cds-services/crs-sentinel, each timed on its own (median of many runs, after warm-up).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadCardTemplates } from '../src/cards/load-card-templates.js';
import { parseHookRequest } from '../src/cds-hooks/hook-request.js';
import { PACKAGE_ROOT } from '../src/config/load-config.js';
import { gatherPatientData } from '../src/fhir/gather-patient-data.js';
import { assessCrs } from '../src/rules/crs-sentinel/assess-crs.js';
import { median } from './load.js';
import type { PatientData } from '../src/rules/crs-sentinel/patient-data.js';
import { renderCrsCards } from '../src/rules/crs-sentinel/render-crs-cards.js';
import { resolveRuleConfig, ruleLookBackMs } from '../src/rules/crs-sentinel/rule-config.js';

export interface StageTimes {
  jsonParse: number;
  validate: number;
  gather: number;
  assess: number;
  render: number;
  stringify: number;
  total: number;
}

const rules = resolveRuleConfig(undefined, undefined);
const templates = loadCardTemplates(path.join(PACKAGE_ROOT, 'cards'));

/** Median ms per stage over `iterations` runs of the whole pipeline on `body`. */
export async function timeStages(body: string, iterations: number): Promise<StageTimes> {
  const samples: Record<keyof StageTimes, number[]> = {
    jsonParse: [],
    validate: [],
    gather: [],
    assess: [],
    render: [],
    stringify: [],
    total: [],
  };
  const warmUp = Math.max(5, Math.floor(iterations / 5));
  for (let i = 0; i < warmUp + iterations; i++) {
    const t0 = performance.now();
    const parsed: unknown = JSON.parse(body);
    const t1 = performance.now();
    const request = parseHookRequest(parsed, 'patient-view');
    const t2 = performance.now();
    const now = new Date();
    const gathered = await gatherPatientData(
      {
        patientId: request.context.patientId,
        prefetch: request.prefetch,
        fhirServer: undefined,
        accessToken: undefined,
      },
      { timeoutMs: 3000, maxPages: 5, horizon: new Date(now.getTime() - ruleLookBackMs(rules)) },
    );
    const t3 = performance.now();
    const assessment = assessCrs({ data: gathered.data, now, rules });
    const t4 = performance.now();
    const cards = renderCrsCards(assessment, templates, randomUUID);
    const t5 = performance.now();
    JSON.stringify({ cards });
    const t6 = performance.now();
    if (i < warmUp) continue;
    samples.jsonParse.push(t1 - t0);
    samples.validate.push(t2 - t1);
    samples.gather.push(t3 - t2);
    samples.assess.push(t4 - t3);
    samples.render.push(t5 - t4);
    samples.stringify.push(t6 - t5);
    samples.total.push(t6 - t0);
  }
  return {
    jsonParse: median(samples.jsonParse),
    validate: median(samples.validate),
    gather: median(samples.gather),
    assess: median(samples.assess),
    render: median(samples.render),
    stringify: median(samples.stringify),
    total: median(samples.total),
  };
}

/** Median ms of JSON.parse of a chart and of assessCrs on what it parsed. */
export interface EngineTimes {
  parseMs: number;
  assessMs: number;
}

/**
 * The engine alone (assessCrs) on the whole chart, no prefetch bound. Each run parses the chart
 * afresh, as a request does: objects straight from JSON.parse, not warm in the cache from the run
 * before, so the cost of reading old history is not understated.
 */
export function timeEngine(data: PatientData, iterations: number): EngineTimes {
  const json = JSON.stringify(data);
  const parses: number[] = [];
  const assessments: number[] = [];
  const warmUp = Math.max(3, Math.floor(iterations / 5));
  for (let i = 0; i < warmUp + iterations; i++) {
    const t0 = performance.now();
    const fresh = JSON.parse(json) as PatientData;
    const t1 = performance.now();
    assessCrs({ data: fresh, now: new Date(), rules });
    const t2 = performance.now();
    if (i < warmUp) continue;
    parses.push(t1 - t0);
    assessments.push(t2 - t1);
  }
  return { parseMs: median(parses), assessMs: median(assessments) };
}

/** The card the service gives for this data (grade and indicator), to show the run is real work. */
export function describeOutcome(data: PatientData): string {
  const assessment = assessCrs({ data, now: new Date(), rules });
  const { outcome, grade } = assessment;
  if (outcome.kind === 'no-card') return `no card (${outcome.reason})`;
  const context = assessment.contexts.join('+') || 'none';
  const truncated = assessment.truncated.length > 0 ? `, truncated: ${assessment.truncated.join(',')}` : '';
  return `${outcome.kind} ${outcome.indicator}, grade ${String(grade.grade)}, context ${context}${truncated}`;
}
