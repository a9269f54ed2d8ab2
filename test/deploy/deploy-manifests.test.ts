/**
 * deploy/ is checked by parsing (no container engine here): the compose file has two replicas,
 * PostgreSQL, Redis and a proxy; the Kubernetes manifests have a Deployment with probes, a
 * Service, a PodDisruptionBudget, an HPA and the Secret; every variable given to the service is
 * one it reads, and the replicas' configuration passes the service's own validation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT, SERVICE_VARIABLES, loadConfig } from '../../src/config/load-config.js';

const read = (file: string) => readFileSync(path.join(PACKAGE_ROOT, 'deploy', file), 'utf8');
const REPLICATION = ['DATABASE_URL', 'REDIS_URL', 'PATIENT_ID_HASH_KEY', 'PUBLIC_BASE_URL', 'CDS_CLIENTS'];

/** ${VAR:?message} and ${VAR} replaced with a value the service accepts, as compose would. */
function substitute(value: string): string {
  return value.replace(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g, (_m, name: string) =>
    name === 'PUBLIC_HOST' ? 'cds.example.org' : name === 'PATIENT_ID_HASH_KEY' ? 'k'.repeat(64) : 'secret',
  );
}

interface ComposeService {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  depends_on?: unknown;
}

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('crs-sentinel'));

  it('runs two replicas of the service, PostgreSQL, Redis and a reverse proxy', () => {
    expect(replicas.map(([name]) => name)).toEqual(['crs-sentinel-1', 'crs-sentinel-2']);
    expect(compose.services.postgres?.image).toMatch(/^postgres:/);
    expect(compose.services.redis?.image).toMatch(/^redis:/);
    expect(compose.services.proxy?.image).toMatch(/^caddy:/);
    expect(read('Caddyfile')).toMatch(/reverse_proxy crs-sentinel-1:3000 crs-sentinel-2:3000/);
  });

  it.each(['crs-sentinel-1', 'crs-sentinel-2'])(
    '%s: only variables the service reads, and a valid configuration',
    (name) => {
      const environment = compose.services[name]?.environment ?? {};
      const unknown = Object.keys(environment).filter((v) => !SERVICE_VARIABLES.includes(v));
      expect(unknown).toEqual([]);
      for (const v of REPLICATION) expect(Object.keys(environment)).toContain(v);
      const env = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, substitute(v)]));
      const config = loadConfig(env);
      expect(config).toMatchObject({ publicBaseUrl: 'https://cds.example.org', metricsPort: 9464 });
      expect(config.databaseUrl).toMatch(/^postgres:\/\/crs:secret@postgres:5432\//);
    },
  );
});

interface K8sDoc {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  stringData?: Record<string, string>;
  spec?: Record<string, unknown>;
}

describe('deploy/kubernetes/crs-sentinel.yaml', () => {
  const docs = parseAllDocuments(read('kubernetes/crs-sentinel.yaml')).map((d) => d.toJS() as K8sDoc);
  const byKind = (kind: string) => docs.find((d) => d.kind === kind);

  it('has the Secret, Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler', () => {
    expect(docs.map((d) => d.kind)).toEqual([
      'Secret',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
    ]);
  });

  it('the Deployment: probes on /healthz and /readyz, variables the service reads, a valid configuration', () => {
    const deployment = byKind('Deployment') as unknown as {
      spec: {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
      };
    };
    interface Container {
      env: { name: string; value: string }[];
      envFrom: { secretRef: { name: string } }[];
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      ports: { name: string; containerPort: number }[];
    }
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const [container] = deployment.spec.template.spec.containers;
    expect(container?.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container?.readinessProbe.httpGet.path).toBe('/readyz');
    const secret = byKind('Secret');
    expect(container?.envFrom.map((e) => e.secretRef.name)).toEqual([secret?.metadata.name]);
    const env: Record<string, string> = {
      ...Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value])),
      ...secret?.stringData,
    };
    expect(Object.keys(env).filter((v) => !SERVICE_VARIABLES.includes(v))).toEqual([]);
    for (const v of REPLICATION) expect(Object.keys(env)).toContain(v);
    const config = loadConfig(env);
    expect(config.metricsPort).toBe(container?.ports.find((p) => p.name === 'metrics')?.containerPort);
    expect(config.port).toBe(container?.ports.find((p) => p.name === 'http')?.containerPort);
    // The selectors of the Service, PDB and HPA reach the Deployment's pods.
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(labels).toMatchObject((byKind('Service')?.spec as { selector: Record<string, string> }).selector);
    expect(labels).toMatchObject(
      (byKind('PodDisruptionBudget')?.spec as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels,
    );
    expect(
      (byKind('HorizontalPodAutoscaler')?.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name,
    ).toBe('crs-sentinel');
  });
});
