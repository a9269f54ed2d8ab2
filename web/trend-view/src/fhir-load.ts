/**
 * Reads the patient's data over FHIR with the launched fhirclient Client: the searches of
 * fhir-searches.ts, paged through (at most VIEW.maxPages pages each, a cut-off reported as on the
 * card), then assembled into the PatientData the core reads.
 */
import type Client from 'fhirclient/lib/Client';
import type { Bundle } from 'fhir/r4';
import type { PrefetchKeys } from '../../../src/cds-hooks/crs-sentinel-service.js';
import { assemble, searchUrls } from './fhir-searches.js';
import type { PatientData } from '../../../src/rules/crs-sentinel/patient-data.js';
import { VIEW } from './view-settings.js';

export interface LoadedData {
  data: PatientData;
  /** FHIR requests made (for the status line and the benchmark). */
  requests: number;
}

export async function loadPatientData(
  client: Client,
  patientId: string,
  sinceIso: string,
  keys: PrefetchKeys,
): Promise<LoadedData> {
  let requests = 0;
  const results = await Promise.all(
    searchUrls(patientId, sinceIso, keys).map(async ({ key, url }) => {
      const resources: unknown[] = [];
      let pages = 0;
      let truncated = false;
      if (key === 'patient') {
        requests++;
        resources.push(await client.request(url));
        return { key, resources, truncated };
      }
      await client.request<Bundle>(url, {
        pageLimit: VIEW.maxPages,
        onPage: (page) => {
          const bundle = page as unknown as Bundle;
          requests++;
          pages++;
          for (const entry of bundle.entry ?? []) if (entry.resource) resources.push(entry.resource);
          if (pages >= VIEW.maxPages && bundle.link?.some((l) => l.relation === 'next')) truncated = true;
        },
      });
      return { key, resources, truncated };
    }),
  );
  return { data: assemble(results, patientId), requests };
}
