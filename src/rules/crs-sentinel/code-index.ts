/**
 * The one typed index the rules read every code list through, built from the FHIR ValueSets in
 * `valuesets/` (and a site's own, which extend a list with the same `url`). What each list means
 * to the rules (a medication class, a reading kind, a device class, ...) is typed code here; which
 * codes and names are in it is data in the ValueSets. Pure: the ValueSets come in as data.
 */
import { normaliseText } from './fhir-values.js';
import {
  AGENT_SYSTEM,
  agentOf,
  matchNames,
  VALUE_SET_BASE,
  type ValueSet,
  type ValueSetConcept,
} from './value-set.js';
import {
  SYSTEM,
  type AntimicrobialIntent,
  type MedicationClass,
  type MedicationConcept,
  type OxygenSupportClass,
  type ReadingKind,
} from './rule-tables.js';

type ListMeaning =
  | { kind: 'medication'; medicationClass: MedicationClass; intent?: AntimicrobialIntent; several?: boolean }
  | { kind: 'flag' }
  | { kind: 'observation'; readingKind: ReadingKind }
  | { kind: 'oxygen-device'; supportClass: OxygenSupportClass }
  | { kind: 'codes' }
  | { kind: 'cell-therapy-diagnosis'; diagnosis: CellTherapyDiagnosisKind }
  | { kind: 'route'; route: RouteKind };

export type CellTherapyDiagnosisKind = 'history' | 'complication' | 'crs';
export type RouteKind = 'iv' | 'enteral' | 'local';

const med = (
  medicationClass: MedicationClass,
  extra: { intent?: AntimicrobialIntent; several?: boolean } = {},
): ListMeaning => ({ kind: 'medication', medicationClass, ...extra });
const obs = (readingKind: ReadingKind): ListMeaning => ({ kind: 'observation', readingKind });

/**
 * Every list, by the name at the end of its `url` (VALUE_SET_BASE + name), in the order the rules
 * try them (a drug found in two lists is the first one's).
 */
export const CODE_LISTS = {
  'car-t-products': med('car-t'),
  'bispecific-antibodies': med('bispecific'),
  tocilizumab: med('tocilizumab'),
  'anticytokine-agents': med('anticytokine'),
  corticosteroids: med('corticosteroid'),
  antipyretics: med('antipyretic'),
  vasopressors: med('vasopressor', { several: true }),
  'vasopressin-analogues': med('vasopressor', { several: false }),
  inotropes: med('inotrope'),
  'antimicrobials-surgical-prophylaxis': med('antibiotic', { intent: 'surgical-prophylaxis' }),
  'antimicrobials-treatment': med('antibiotic', { intent: 'treatment' }),
  'antimicrobials-prophylaxis': med('antibiotic', { intent: 'prophylaxis' }),
  'antimicrobials-non-systemic': med('antibiotic', { intent: 'non-systemic' }),
  'antimicrobials-systemic-only-iv': { kind: 'flag' },
  'vasopressors-inotropic': { kind: 'flag' },
  'crs-labels-without-tocilizumab': { kind: 'flag' },
  'observations-temperature': obs('temperature'),
  'observations-heart-rate': obs('heart-rate'),
  'observations-respiratory-rate': obs('respiratory-rate'),
  'observations-spo2': obs('spo2'),
  'observations-systolic-bp': obs('systolic-bp'),
  'observations-diastolic-bp': obs('diastolic-bp'),
  'observations-mean-arterial-pressure': obs('mean-arterial-pressure'),
  'observations-oxygen-flow': obs('oxygen-flow'),
  'observations-fio2': obs('fio2'),
  'observations-body-weight': obs('body-weight'),
  'observations-gcs-total': obs('gcs-total'),
  'observations-lactate': obs('lactate'),
  'observations-il-6': obs('il-6'),
  'observations-crp': obs('crp'),
  'observations-ferritin': obs('ferritin'),
  'observations-wbc': obs('wbc'),
  'blood-pressure-panels': { kind: 'codes' },
  'oxygen-delivery-observations': { kind: 'codes' },
  'body-fluid-cultures': { kind: 'codes' },
  'oxygen-devices-positive-pressure': { kind: 'oxygen-device', supportClass: 'positive-pressure' },
  'oxygen-devices-high-flow': { kind: 'oxygen-device', supportClass: 'high-flow' },
  'oxygen-devices-low-flow': { kind: 'oxygen-device', supportClass: 'low-flow' },
  'oxygen-devices-no-support': { kind: 'oxygen-device', supportClass: 'none' },
  'sepsis-diagnoses': { kind: 'codes' },
  'car-t-history-diagnoses': { kind: 'cell-therapy-diagnosis', diagnosis: 'history' },
  'immune-effector-cell-therapy-complications': { kind: 'cell-therapy-diagnosis', diagnosis: 'complication' },
  'crs-diagnoses': { kind: 'cell-therapy-diagnosis', diagnosis: 'crs' },
  'intravenous-routes': { kind: 'route', route: 'iv' },
  'local-routes': { kind: 'route', route: 'local' },
  'enteral-routes': { kind: 'route', route: 'enteral' },
  // Routes whose doses act where applied: no fever-masking therapy (grade-crs.ts).
  'surface-routes': { kind: 'codes' },
} as const satisfies Record<string, ListMeaning>;

export type CodeListName = keyof typeof CODE_LISTS;
export const CODE_LIST_NAMES = Object.keys(CODE_LISTS) as CodeListName[];

/** The reading kinds of the observation lists, in list order. */
export const OBSERVATION_KINDS: readonly ReadingKind[] = CODE_LIST_NAMES.flatMap((name) => {
  const m: ListMeaning = CODE_LISTS[name];
  return m.kind === 'observation' ? [m.readingKind] : [];
});

/** The list a ValueSet `url` is (undefined for a url no rule reads). */
export function codeListOf(url: string): CodeListName | undefined {
  const name = url.startsWith(VALUE_SET_BASE) ? url.slice(VALUE_SET_BASE.length) : undefined;
  return name !== undefined && name in CODE_LISTS ? (name as CodeListName) : undefined;
}

export interface Coded {
  system: string;
  code: string;
}

export interface CodeIndex {
  /** The system (already canonical) and code are in the list: a concept, or under an is-a filter. */
  has(list: CodeListName, system: string | undefined, code: string | undefined): boolean;
  /** The listed codes (filters excluded), for search templates. */
  codes(list: CodeListName): readonly Coded[];
  /** Some agent name of the list is a whole-word phrase of the text (case and punctuation ignored). */
  nameMatches(list: CodeListName, text: string): boolean;
  /** Every agent of the medication lists, in list order, with its codes, names and meaning. */
  readonly medicationConcepts: readonly MedicationConcept[];
  medicationConcept(id: string): MedicationConcept | undefined;
  /** Immune effector cell products and bispecifics (the therapy agents). */
  readonly therapyConcepts: readonly MedicationConcept[];
  readingKind(system: string, code: string): ReadingKind | undefined;
  /** The listed codes that measure this kind (for search templates and quick pre-tests). */
  readingCodes(kind: ReadingKind): readonly Coded[];
  oxygenDeviceClass(system: string, code: string): OxygenSupportClass | undefined;
  cellTherapyDiagnosis(system: string, code: string): CellTherapyDiagnosisKind | undefined;
  route(system: string, code: string): RouteKind | undefined;
}

/** ICD codes are compared without dots, upper case (A41.9 = A419). */
function normalised(system: string, code: string): string {
  return system === SYSTEM.icd10cm || system === SYSTEM.icd9cm ? code.replace(/\./g, '').toUpperCase() : code;
}

const key = (system: string, code: string) => `${system}|${normalised(system, code)}`;

interface ListData {
  keys: Set<string>;
  codes: Coded[];
  prefixes: Coded[];
  concepts: { system: string; concept: ValueSetConcept }[];
}

/**
 * The index of these ValueSets: each must be one of CODE_LISTS (by url; checked by the loader,
 * others are ignored here); several with the same url are one list, their codes added together.
 */
export function buildCodeIndex(valueSets: readonly ValueSet[]): CodeIndex {
  const lists = new Map<CodeListName, ListData>(
    CODE_LIST_NAMES.map((n) => [n, { keys: new Set(), codes: [], prefixes: [], concepts: [] }]),
  );
  for (const vs of valueSets) {
    const list = codeListOf(vs.url);
    const data = list && lists.get(list);
    if (!data) continue;
    for (const include of vs.compose.include) {
      for (const concept of include.concept ?? []) {
        data.concepts.push({ system: include.system, concept });
        if (!data.keys.has(key(include.system, concept.code))) {
          data.keys.add(key(include.system, concept.code));
          data.codes.push({ system: include.system, code: concept.code });
        }
      }
      for (const filter of include.filter ?? []) {
        data.prefixes.push({ system: include.system, code: normalised(include.system, filter.value) });
      }
    }
  }
  const listData = (list: CodeListName) => lists.get(list) as ListData;
  const medicationConcepts = deriveMedicationConcepts(listData);
  const byId = new Map(medicationConcepts.map((c) => [c.id, c]));
  const lookup = <T>(meaning: (m: ListMeaning) => T | undefined) => {
    const map = new Map<string, T>();
    for (const name of CODE_LIST_NAMES) {
      const value = meaning(CODE_LISTS[name]);
      if (value === undefined) continue;
      for (const c of listData(name).codes)
        if (!map.has(key(c.system, c.code))) map.set(key(c.system, c.code), value);
    }
    return map;
  };
  const kinds = lookup((m) => (m.kind === 'observation' ? m.readingKind : undefined));
  const devices = lookup((m) => (m.kind === 'oxygen-device' ? m.supportClass : undefined));
  const routes = lookup((m) => (m.kind === 'route' ? m.route : undefined));
  const nameIndexes = new Map<CodeListName, string[][]>();
  const has = (list: CodeListName, system: string | undefined, code: string | undefined): boolean => {
    if (system === undefined || code === undefined) return false;
    const data = listData(list);
    if (data.keys.has(key(system, code))) return true;
    const bare = normalised(system, code);
    return data.prefixes.some((p) => p.system === system && bare.startsWith(p.code));
  };
  return {
    has,
    codes: (list) => listData(list).codes,
    nameMatches(list, text) {
      let names = nameIndexes.get(list);
      if (!names) {
        names = listData(list)
          .concepts.filter((c) => c.system === AGENT_SYSTEM)
          .flatMap((c) => matchNames(c.concept).map((n) => words(n)));
        nameIndexes.set(list, names);
      }
      const textWords = words(text);
      return names.some((name) => textWords.some((_, at) => name.every((w, k) => textWords[at + k] === w)));
    },
    medicationConcepts,
    medicationConcept: (id) => byId.get(id),
    therapyConcepts: medicationConcepts.filter(
      (c) => c.medicationClass === 'car-t' || c.medicationClass === 'bispecific',
    ),
    readingKind: (system, code) => kinds.get(key(system, code)),
    readingCodes: (kind) =>
      CODE_LIST_NAMES.flatMap((name) => {
        const m: ListMeaning = CODE_LISTS[name];
        return m.kind === 'observation' && m.readingKind === kind ? listData(name).codes : [];
      }),
    oxygenDeviceClass: (system, code) => devices.get(key(system, code)),
    cellTherapyDiagnosis(system, code) {
      for (const name of CODE_LIST_NAMES) {
        const m: ListMeaning = CODE_LISTS[name];
        if (m.kind === 'cell-therapy-diagnosis' && has(name, system, code)) return m.diagnosis;
      }
      return undefined;
    },
    route: (system, code) => routes.get(key(system, code)),
  };
}

function words(text: string): string[] {
  const normalised = normaliseText(text);
  return normalised === '' ? [] : normalised.split(' ');
}

/**
 * The agents of the medication lists as MedicationConcepts: an agent's display is its name, its
 * name-match designations its names, and every code of another system naming it (AGENT_EXTENSION)
 * is one of its codes (RxNorm, else "procedure" codes: ICD-10-PCS, CPT, HCPCS, a site's own).
 */
function deriveMedicationConcepts(listData: (list: CodeListName) => ListData): MedicationConcept[] {
  // The agents a flag list names.
  const flagged = (list: CodeListName): ReadonlySet<string> =>
    new Set(
      listData(list)
        .concepts.filter((c) => c.system === AGENT_SYSTEM)
        .map((c) => c.concept.code),
    );
  const onlyIv = flagged('antimicrobials-systemic-only-iv');
  const inotropic = flagged('vasopressors-inotropic');
  const noTocilizumab = flagged('crs-labels-without-tocilizumab');
  const concepts: MedicationConcept[] = [];
  const byId = new Map<string, MedicationConcept>();
  for (const name of CODE_LIST_NAMES) {
    const meaning: ListMeaning = CODE_LISTS[name];
    if (meaning.kind !== 'medication') continue;
    const data = listData(name);
    for (const { system, concept } of data.concepts) {
      if (system !== AGENT_SYSTEM) continue;
      const known = byId.get(concept.code);
      if (known) {
        // A site's ValueSet may add names to a built-in agent.
        (known.names as string[]).push(...matchNames(concept).filter((n) => !known.names.includes(n)));
        continue;
      }
      const created: MedicationConcept = {
        id: concept.code,
        name: concept.display ?? concept.code,
        medicationClass: meaning.medicationClass,
        names: matchNames(concept),
        rxnorm: [],
        procedureCodes: [],
        ...(meaning.several !== undefined && { countsTowardSeveral: meaning.several }),
        ...(meaning.intent !== undefined && { intent: meaning.intent }),
        ...(onlyIv.has(concept.code) && { systemicOnlyIv: true }),
        ...(inotropic.has(concept.code) && { inotropic: true }),
        ...(noTocilizumab.has(concept.code) && { crsLabelWithoutTocilizumab: true }),
      };
      byId.set(created.id, created);
      concepts.push(created);
    }
  }
  for (const name of CODE_LIST_NAMES) {
    if (CODE_LISTS[name].kind !== 'medication') continue;
    for (const { system, concept } of listData(name).concepts) {
      const agent = system === AGENT_SYSTEM ? undefined : byId.get(agentOf(concept) ?? '');
      if (!agent) continue;
      if (system === SYSTEM.rxnorm) (agent.rxnorm as string[]).push(concept.code);
      else (agent.procedureCodes as Coded[]).push({ system, code: concept.code });
    }
  }
  return concepts;
}

/**
 * Problems of a ValueSet against the lists (one line each; empty when fine): its url must be a
 * list the rules read, and in a medication list every code of another system must name a known
 * agent (`agents`: the agent codes of all medication lists, built-in and site).
 */
export function valueSetProblems(vs: ValueSet, agents: ReadonlySet<string>): string[] {
  const list = codeListOf(vs.url);
  if (!list) {
    return [
      `url ${JSON.stringify(vs.url)} is no list the rules read (expected ${VALUE_SET_BASE}<name>, name one of: ${CODE_LIST_NAMES.join(', ')})`,
    ];
  }
  const meaning: ListMeaning = CODE_LISTS[list];
  if (meaning.kind !== 'medication') return [];
  const problems: string[] = [];
  vs.compose.include.forEach((include, i) => {
    if (include.system === AGENT_SYSTEM) return;
    include.concept?.forEach((concept, j) => {
      const agent = agentOf(concept);
      if (agent === undefined || !agents.has(agent)) {
        problems.push(
          `compose.include.${i}.concept.${j} (${concept.code}): ${agent === undefined ? 'names no agent' : `names the unknown agent ${JSON.stringify(agent)}`} (extension ${AGENT_SYSTEM.replace('CodeSystem/agent', 'StructureDefinition/agent')} with valueCode: an agent code of the medication lists)`,
        );
      }
    });
  });
  return problems;
}

/** The agent codes the medication lists among these ValueSets define. */
export function agentsOf(valueSets: readonly ValueSet[]): Set<string> {
  const agents = new Set<string>();
  for (const vs of valueSets) {
    const list = codeListOf(vs.url);
    if (!list || CODE_LISTS[list].kind !== 'medication') continue;
    for (const include of vs.compose.include) {
      if (include.system === AGENT_SYSTEM) for (const c of include.concept ?? []) agents.add(c.code);
    }
  }
  return agents;
}
