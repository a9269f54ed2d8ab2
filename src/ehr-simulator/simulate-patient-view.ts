/**
 * Acts as an EHR for implementers and end-to-end tests: reads discovery, optionally resolves the
 * prefetch templates against a FHIR server the way an EHR would (first page of each search), signs
 * a client JWT for each endpoint (`aud` = the URL called) and sends `patient-view`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface SimulateOptions {
  /** The service's base, e.g. http://127.0.0.1:3000 (discovery is `${base}/cds-services`). */
  serviceBase: string;
  serviceId?: string;
  patientId: string;
  fhirServer?: string;
  /** Resolve the service's prefetch templates against `fhirServer` and send them. */
  prefetch: boolean;
  /** Signs a client JWT for one endpoint URL; undefined sends no Authorization header. */
  sign: (audience: string) => string | undefined;
  userId?: string;
  encounterId?: string;
}

export interface SimulationResult {
  status: number;
  body: unknown;
  serviceUrl: string;
  prefetchKeys: string[];
  timings: { discoveryMs: number; prefetchMs: number; hookMs: number };
}

interface DiscoveredService {
  id: string;
  hook: string;
  prefetch?: Record<string, string>;
}

export class SimulationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationError';
  }
}

export async function simulatePatientView(options: SimulateOptions): Promise<SimulationResult> {
  const base = options.serviceBase.replace(/\/+$/, '');
  const serviceId = options.serviceId ?? 'crs-sentinel';
  let started = performance.now();
  const service = await discover(`${base}/cds-services`, serviceId, options.sign);
  const discoveryMs = performance.now() - started;

  started = performance.now();
  const prefetch =
    options.prefetch && options.fhirServer
      ? await resolvePrefetch(service.prefetch ?? {}, options.fhirServer, options.patientId)
      : undefined;
  const prefetchMs = performance.now() - started;

  const serviceUrl = `${base}/cds-services/${encodeURIComponent(serviceId)}`;
  const body = {
    hook: 'patient-view',
    hookInstance: randomUUID(),
    ...(options.fhirServer ? { fhirServer: options.fhirServer } : {}),
    context: {
      userId: options.userId ?? 'Practitioner/crs-sentinel-simulator',
      patientId: options.patientId,
      ...(options.encounterId ? { encounterId: options.encounterId } : {}),
    },
    ...(prefetch ? { prefetch } : {}),
  };
  started = performance.now();
  const res = await fetch(serviceUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization(options.sign(serviceUrl)) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const hookMs = performance.now() - started;
  return {
    status: res.status,
    body: parseJson(text),
    serviceUrl,
    prefetchKeys: Object.keys(prefetch ?? {}),
    timings: { discoveryMs, prefetchMs, hookMs },
  };
}

async function discover(
  url: string,
  serviceId: string,
  sign: SimulateOptions['sign'],
): Promise<DiscoveredService> {
  let res: Response;
  try {
    res = await fetch(url, { headers: authorization(sign(url)) });
  } catch {
    throw new SimulationError(`cannot reach the CDS service at ${url}: is it running?`);
  }
  if (!res.ok) throw new SimulationError(`discovery at ${url} answered HTTP ${res.status}`);
  const body = parseJson(await res.text());
  const services = isRecord(body) && Array.isArray(body.services) ? (body.services as unknown[]) : [];
  const service = services.find((s): s is DiscoveredService => isRecord(s) && s.id === serviceId);
  if (!service) throw new SimulationError(`discovery at ${url} lists no service '${serviceId}'`);
  return service;
}

/** Each template on the FHIR server, first page only; a failed query is sent as its OperationOutcome. */
async function resolvePrefetch(
  templates: Record<string, string>,
  fhirServer: string,
  patientId: string,
): Promise<Record<string, unknown>> {
  const fhirBase = fhirServer.replace(/\/+$/, '');
  const entries = await Promise.all(
    Object.entries(templates).map(async ([key, template]) => {
      const query = template.replaceAll('{{context.patientId}}', encodeURIComponent(patientId));
      try {
        const res = await fetch(`${fhirBase}/${query}`, { headers: { accept: 'application/fhir+json' } });
        const body = parseJson(await res.text());
        if (res.status === 404 && !query.includes('?')) return [key, null] as const;
        return [key, res.ok ? body : operationOutcome(`HTTP ${res.status}`)] as const;
      } catch {
        return [key, operationOutcome('FHIR server unreachable')] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

function operationOutcome(diagnostics: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics }] };
}

function authorization(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
