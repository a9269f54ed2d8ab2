/**
 * The story of one patient-view call: check the caller may send us to its FHIR server, gather the
 * patient's data (prefetch first, then the FHIR server), assess it against the CRS rules with the
 * call's `now`, and answer with cards.
 */
import type { HookRequest } from '../cds-hooks/hook-request.js';
import type { CdsServiceResponse } from '../cds-hooks/cds-hooks-types.js';
import { preconditionFailed } from '../errors/cds-error.js';
import { gatherPatientData, type GatherResult } from '../fhir/gather-patient-data.js';
import type { AuthenticatedCaller } from './request-authenticator.js';

export interface PatientViewDeps {
  fhirTimeoutMs: number;
  fhirMaxPages: number;
  /** The rules' longest look-back: paging stops at data older than this before `now`. */
  lookBackMs: number;
  now: () => Date;
}

export interface PatientViewOutcome {
  response: CdsServiceResponse;
  /** Facts for the request log: no PHI. */
  log: Pick<GatherResult, 'fhirRequests' | 'prefetched' | 'fetched'> & { cards: number };
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
      horizon: new Date(now.getTime() - deps.lookBackMs),
    },
  );
  // The CRS engine (issue 3) turns gathered.data into cards; until it lands, no card is correct.
  const response: CdsServiceResponse = { cards: [] };
  return {
    response,
    log: {
      fhirRequests: gathered.fhirRequests,
      prefetched: gathered.prefetched,
      fetched: gathered.fetched,
      cards: response.cards.length,
    },
  };
}
