/**
 * The replay command's flags, checked into typed settings; a bad one is a one-line message
 * (ReplayArgumentError), never a stack trace.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeJsonError, parseJsonText } from '../config/json-text.js';
import { resolvePolicyConfig } from '../governance/policy-config.js';
import { DEFAULT_REFERENCE_EVENTS, referenceEventsSchema } from './reference-events.js';
import { parseDuration } from './replay-steps.js';
import type { ReplaySettings } from './run-replay.js';
import type { Shard } from './split-export.js';

export class ReplayArgumentError extends Error {}

export interface ReplayFlags {
  ndjson?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  step?: string | undefined;
  out?: string | undefined;
  workers?: string | undefined;
  shard?: string | undefined;
  'encounter-class'?: string | undefined;
  'site-codes'?: string | undefined;
  rules?: string | undefined;
  events?: string | undefined;
  'event-window'?: string | undefined;
  'assume-ack'?: string | undefined;
  governance?: string | undefined;
  'max-plots'?: string | undefined;
  'no-plots'?: boolean | undefined;
}

export interface ReplayCommand {
  ndjson: string;
  out: string;
  workers: number;
  shard?: Shard;
  maxPlots: number;
  settings: ReplaySettings;
  labels: { step: string; eventWindow: string; governance: string; from?: string; to?: string };
}

const fail = (message: string): never => {
  throw new ReplayArgumentError(message);
};

function duration(flag: string, text: string): number {
  return (
    parseDuration(text) ??
    fail(`--${flag}: expected a duration such as 30m, 1h or 2d, got "${text.slice(0, 40)}"`)
  );
}

function instant(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? fail(`--${flag}: expected a date or date-time, got "${text.slice(0, 40)}"`) : ms;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1
    ? n
    : fail(`--${flag}: expected a whole number >= 1, got "${text.slice(0, 40)}"`);
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    fail(`--shard: expected i/N with 1 <= i <= N (e.g. 2/8), got "${text.slice(0, 40)}"`);
  return { index, count };
}

function readJsonFile(flag: string, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return fail(`--${flag}: cannot read ${path}`);
  }
  const parsed = parseJsonText(text);
  return parsed.ok ? parsed.value : fail(`--${flag}: ${path}: ${describeJsonError(parsed)}`);
}

export function parseReplayFlags(flags: ReplayFlags, cardsDir: string): ReplayCommand {
  if (flags.ndjson === undefined) fail('--ndjson <folder of a FHIR bulk export> is required');
  const ndjson = resolve(flags.ndjson as string);
  if (!existsSync(ndjson) || !statSync(ndjson).isDirectory()) fail(`--ndjson: ${ndjson} is not a folder`);
  if (flags.governance !== undefined && flags['assume-ack'] === undefined)
    fail('--governance <file> needs --assume-ack <duration> (without it no card is ever answered)');
  const step = flags.step ?? '1h';
  const eventWindow = flags['event-window'] ?? '24h';
  const fromMs = instant('from', flags.from);
  const toMs = instant('to', flags.to);
  if (fromMs !== undefined && toMs !== undefined && toMs < fromMs) fail('--to is before --from');
  const events =
    flags.events === undefined
      ? [...DEFAULT_REFERENCE_EVENTS]
      : parseEvents(readJsonFile('events', flags.events));
  const settings: ReplaySettings = {
    stepMs: duration('step', step),
    eventWindowMs: duration('event-window', eventWindow),
    events,
    plotSeries: flags['no-plots'] !== true,
    cardsDir,
    ...(fromMs !== undefined && { fromMs }),
    ...(toMs !== undefined && { toMs }),
    ...(flags['encounter-class'] !== undefined && { encounterClasses: flags['encounter-class'].split(',') }),
    ...(flags['site-codes'] !== undefined && { siteCodes: readJsonFile('site-codes', flags['site-codes']) }),
    ...(flags.rules !== undefined && { ruleOverrides: readJsonFile('rules', flags.rules) }),
    ...(flags['assume-ack'] !== undefined && { assumeAckMs: duration('assume-ack', flags['assume-ack']) }),
    ...(flags.governance !== undefined && { governanceConfig: readJsonFile('governance', flags.governance) }),
  };
  if (settings.governanceConfig !== undefined) {
    try {
      resolvePolicyConfig(settings.governanceConfig);
    } catch (error) {
      fail(`--governance: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    ndjson,
    out: resolve(flags.out ?? 'replay-report'),
    workers: flags.workers === undefined ? 1 : positiveInt('workers', flags.workers),
    ...(flags.shard !== undefined && { shard: parseShard(flags.shard) }),
    maxPlots: flags['no-plots']
      ? 0
      : flags['max-plots'] === undefined
        ? 60
        : positiveInt('max-plots', flags['max-plots']),
    settings,
    labels: {
      step,
      eventWindow,
      governance:
        flags['assume-ack'] === undefined
          ? 'none (every would-be card counted as shown)'
          : `service policy (src/governance/policy.ts${flags.governance === undefined ? ', default quiet periods' : `, ${flags.governance}`}), every shown card answered "already managed" after ${flags['assume-ack']}`,
      ...(flags.from !== undefined && { from: flags.from }),
      ...(flags.to !== undefined && { to: flags.to }),
    },
  };
}

function parseEvents(json: unknown): ReplaySettings['events'] {
  const parsed = referenceEventsSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return fail(`--events: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}
