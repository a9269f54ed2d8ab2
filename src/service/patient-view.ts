/**
 * The story of one patient-view call: check the caller may send us to its FHIR server, gather the
 * patient's data (prefetch first, then the FHIR server), assess it against the CRS rules with the
 * call's `now` (the pure core: data and `now` in, findings out), and render the cards.
 */
import type { HookRequest } from '../cds-hooks/hook-request.js';
import type { CdsServiceResponse } from '../cds-hooks/cds-hooks-types.js';
import { preconditionFailed } from '../errors/cds-error.js';
import type { BatchSupportMemory } from '../fhir/fhir-client.js';
import { gatherPatientData, type GatherResult } from '../fhir/gather-patient-data.js';
import { assessCrs } from '../rules/crs-sentinel/assess-crs.js';
import type { CrsCardTemplates } from '../rules/crs-sentinel/card-templates.js';
import { renderCrsCards } from '../rules/crs-sentinel/render-crs-cards.js';
import { ruleLookBackMs, type CrsRuleConfig } from '../rules/crs-sentinel/rule-config.js';
import type { AuthenticatedCaller } from './request-authenticator.js';

export interface PatientViewDeps {
  fhirTimeoutMs: number;
  fhirMaxPages: number;
  /** Remembers which FHIR servers take a batch of searches (one round trip per hook). */
  fhirBatchSupport?: BatchSupportMemory;
  rules: CrsRuleConfig;
  cardTemplates: CrsCardTemplates;
  now: () => Date;
  newUuid: () => string;
}

export interface PatientViewOutcome {
  response: CdsServiceResponse;
  /** Facts for the request log: no PHI. */
  log: Pick<GatherResult, 'fhirRequests' | 'prefetched' | 'fetched'> & { cards: number; outcome: string };
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
      ...(deps.fhirBatchSupport ? { batchSupport: deps.fhirBatchSupport } : {}),
      horizon: new Date(now.getTime() - ruleLookBackMs(deps.rules)),
    },
  );
  const assessment = assessCrs({
    data: gathered.data,
    now,
    rules: deps.rules,
    ...(request.context.encounterId === undefined ? {} : { encounterId: request.context.encounterId }),
  });
  const response: CdsServiceResponse = {
    cards: renderCrsCards(assessment, deps.cardTemplates, deps.newUuid),
  };
  return {
    response,
    log: {
      fhirRequests: gathered.fhirRequests,
      prefetched: gathered.prefetched,
      fetched: gathered.fetched,
      cards: response.cards.length,
      outcome: assessment.outcome.kind,
    },
  };
}
