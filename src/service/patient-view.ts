/**
 * The story of one patient-view call: check the caller may send us to its FHIR server, gather the
 * patient's data (prefetch first, then the FHIR server), assess it against the CRS rules with the
 * call's `now` (the pure core: data and `now` in, findings out), and render the cards.
 */
import type { HookRequest } from '../cds-hooks/hook-request.js';
import { prefetchKeysFor } from '../cds-hooks/crs-sentinel-service.js';
import type { CdsServiceResponse } from '../cds-hooks/cds-hooks-types.js';
import { preconditionFailed } from '../errors/cds-error.js';
import type { BatchSupportMemory, FhirRequestObserver } from '../fhir/fhir-client.js';
import { gatherPatientData, type GatherResult } from '../fhir/gather-patient-data.js';
import { assessCrs } from '../rules/crs-sentinel/assess-crs.js';
import type { CrsCardTemplates } from '../rules/crs-sentinel/card-templates.js';
import type { DataSetName, PatientData } from '../rules/crs-sentinel/patient-data.js';
import { renderCrsCards } from '../rules/crs-sentinel/render-crs-cards.js';
import { ruleLookBackMs, type CrsRuleConfig } from '../rules/crs-sentinel/rule-config.js';
import { governCards, type GovernanceDeps, type GovernedCards } from './govern-cards.js';
import type { FhirBytePool } from '../fhir/fhir-http.js';
import type { AuthenticatedCaller } from './request-authenticator.js';

export interface PatientViewDeps {
  fhirTimeoutMs: number;
  fhirMaxPages: number;
  /** Decompressed bytes all FHIR answers of one hook call may take (FHIR_MAX_RESPONSE_BYTES). */
  fhirMaxResponseBytes?: number;
  /** Decompressed bytes all hook calls may be reading at once (FHIR_MAX_INFLIGHT_BYTES). */
  fhirBytePool?: FhirBytePool;
  /** Remembers which FHIR servers take a batch of searches (one round trip per hook). */
  fhirBatchSupport?: BatchSupportMemory;
  rules: CrsRuleConfig;
  cardTemplates: CrsCardTemplates;
  now: () => Date;
  newUuid: () => string;
  /** The card ledger and policy (issue 11); without it every card is answered and nothing kept. */
  governance?: GovernanceDeps;
  /** Told of each FHIR request's outcome and duration (metrics). */
  onFhirRequest?: FhirRequestObserver;
  /** The CRS trend view's SMART launch URL, linked from the cards (absent: no link). */
  trendViewLaunchUrl?: string;
}

export interface PatientViewOutcome {
  response: CdsServiceResponse;
  /** Facts for the request log: no PHI. */
  log: Pick<GatherResult, 'fhirRequests' | 'prefetched' | 'fetched'> & {
    cards: number;
    outcome: string;
    /** The ASTCT grade found (null: none). */
    grade: number | null;
    /** Resources not used, by `Type/reason`, e.g. `{"Observation/other-patient": 3}`; no ids. */
    unused?: Record<string, number>;
    /** Data sets whose search was cut off at its page limit (reported even when no card is shown). */
    truncated?: DataSetName[];
  } & Partial<GovernedCards['log']>;
}

export async function handlePatientView(
  request: HookRequest,
  caller: AuthenticatedCaller,
  deps: PatientViewDeps,
): Promise<PatientViewOutcome> {
  // Trust first: a fhirServer the caller is not bound to is never contacted (issue: FHIR binding).
  if (request.fhirServer !== undefined && !caller.mayUseFhirServer(request.fhirServer)) {
    throw preconditionFailed('fhirServer is not a FHIR server this client is registered for');
  }
  const now = deps.now();
  const gathered = await gatherPatientData(
    {
      patientId: request.context.patientId,
      prefetch: request.prefetch,
      fhirServer: request.fhirServer,
      accessToken: request.fhirAuthorization?.access_token,
    },
    {
      timeoutMs: deps.fhirTimeoutMs,
      maxPages: deps.fhirMaxPages,
      ...(deps.fhirMaxResponseBytes === undefined ? {} : { maxResponseBytes: deps.fhirMaxResponseBytes }),
      ...(deps.fhirBatchSupport ? { batchSupport: deps.fhirBatchSupport } : {}),
      ...(deps.fhirBytePool ? { bytePool: deps.fhirBytePool } : {}),
      ...(deps.onFhirRequest ? { onFhirRequest: deps.onFhirRequest } : {}),
      horizon: new Date(now.getTime() - ruleLookBackMs(deps.rules)),
    },
    prefetchKeysFor(deps.rules),
  );
  const unused = unusedCounts(gathered.data);
  if (unused !== undefined && !hasUsableData(gathered.data)) {
    const total = Object.values(unused).reduce((sum, n) => sum + n, 0);
    // The log line says which kinds were not used and why (counts only, no ids).
    const kinds = Object.entries(unused)
      .map(([kind, n]) => `${kind}=${n}`)
      .join(', ');
    throw preconditionFailed(
      `no usable FHIR data for the patient in context: ${total} resource${total === 1 ? '' : 's'} not used`,
      `no usable data; not used: ${kinds}`,
    );
  }
  const assessment = assessCrs({
    data: gathered.data,
    now,
    rules: deps.rules,
    ...(request.context.encounterId === undefined ? {} : { encounterId: request.context.encounterId }),
  });
  const rendered = renderCrsCards(assessment, deps.cardTemplates, deps.newUuid, {
    ...(deps.trendViewLaunchUrl !== undefined && { trendViewLaunchUrl: deps.trendViewLaunchUrl }),
  });
  const governed = deps.governance
    ? await governCards({ request, caller, assessment, cards: rendered, now }, deps.governance)
    : undefined;
  const response: CdsServiceResponse = { cards: governed?.cards ?? rendered };
  return {
    response,
    log: {
      fhirRequests: gathered.fhirRequests,
      prefetched: gathered.prefetched,
      fetched: gathered.fetched,
      cards: response.cards.length,
      outcome: assessment.outcome.kind,
      grade: assessment.grade.grade === 'none' ? null : assessment.grade.grade,
      ...(unused === undefined ? {} : { unused }),
      ...(gathered.data.truncated.length === 0 ? {} : { truncated: [...gathered.data.truncated] }),
      ...governed?.log,
    },
  };
}

/** `Type/reason` -> count, for the log line; undefined when everything received was used. */
function unusedCounts(data: PatientData): Record<string, number> | undefined {
  if (data.unused.length === 0) return undefined;
  const counts: Record<string, number> = {};
  for (const u of data.unused) counts[`${u.resourceType}/${u.reason}`] = u.count;
  return counts;
}

/** Anything the rules can use (bundled Medications alone say nothing about the patient). */
function hasUsableData(data: PatientData): boolean {
  return (
    data.patient !== undefined ||
    data.vitals.length > 0 ||
    data.labs.length > 0 ||
    data.medicationAdministrations.length > 0 ||
    data.conditions.length > 0 ||
    data.procedures.length > 0 ||
    data.encounters.length > 0
  );
}
