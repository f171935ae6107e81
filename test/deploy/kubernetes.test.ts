import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { REPO_ROOT } from '../support/processes.js';
import { OPERATOR_SETTINGS, imageService, imageUser, mcpConfigVariables, readmeConfiguration, readsVariable, serviceUrls } from './deploy-support.js';

const run = promisify(execFile);

/**
 * deploy/kubernetes, rendered the way `kubectl apply -k` renders it (`kubectl kustomize`), every object
 * validated against the Kubernetes schemas (`kubernetes-models`), then the references between objects
 * checked: selectors, ConfigMap and Secret keys, probe ports, the drain time, the README's configuration
 * table, the NetworkPolicies, and every in-cluster URL.
 */

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  /** Validated against the schemas first; the checks read it through the narrow views below. */
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

async function render(overlay: string): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', join(REPO_ROOT, 'deploy/kubernetes', overlay)]).catch((error: unknown) => {
    throw new Error(`kubectl kustomize failed (kubectl comes with \`make test\`, from Debian's kubernetes-client): ${String(error)}`);
  });
  return parseAllDocuments(stdout).map((document) => document.toJS() as Manifest);
}

/** The API groups the manifests may use; an object of any other group is reported, not skipped. */
const SCHEMAS = { v1: core, 'apps/v1': apps, 'autoscaling/v2': autoscaling, 'networking.k8s.io/v1': networking, 'policy/v1': policy } as unknown as Record<
  string,
  Record<string, new (data: unknown) => { validate(): void }> | undefined
>;

function validateAgainstSchemas(objects: Manifest[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = SCHEMAS[object.apiVersion]?.[object.kind];
    if (Model === undefined) {
      problems.push(`${object.kind}/${object.metadata.name}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
    }
  }
  return problems;
}

type Labels = Record<string, string>;
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Labels };
  template: { metadata: { labels: Labels }; spec: { containers: Container[]; securityContext?: Record<string, unknown>; terminationGracePeriodSeconds: number } };
}
interface ServiceSpec {
  selector: Labels;
  ports: { port: number; targetPort: string | number }[];
}
interface PolicySpec {
  podSelector: { matchLabels: Labels };
  policyTypes: string[];
  ingress?: { from?: { podSelector?: { matchLabels: Labels } }[]; ports: { port: number }[] }[];
}
const dspec = (object: Manifest) => object.spec as DeploymentSpec;
const sspec = (object: Manifest) => object.spec as ServiceSpec;
const pspec = (object: Manifest) => object.spec as PolicySpec;

const of = (objects: Manifest[], kind: string) => objects.filter((object) => object.kind === kind);
const named = (objects: Manifest[], kind: string, name: string) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name}`);
  return found;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

/**
 * Variables Kubernetes itself reads: set from the pod (downward API) only to be expanded as `$(NAME)` in a
 * later variable of the same container, so no service reads them.
 */
function expansionOnly(env: readonly EnvVar[], variable: EnvVar): boolean {
  const index = env.indexOf(variable);
  return variable.valueFrom?.fieldRef !== undefined && env.slice(index + 1).some((later) => later.value?.includes(`$(${variable.name})`) === true);
}

interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: unknown;
}

const containersOf = (deployment: Manifest) => dspec(deployment).template.spec.containers;
const imageOf = (deployment: Manifest) => containersOf(deployment)[0]!.image;
/** Deployments of Ensemble's services (the dev overlay's Redis, PostgreSQL, Phoenix and sim-llm are not). */
const ensembleDeployments = (objects: Manifest[]) =>
  of(objects, 'Deployment').filter((deployment) => deployment.metadata.labels?.['app.kubernetes.io/part-of'] === 'ensemble');

let base: Manifest[];
let dev: Manifest[];

beforeAll(async () => {
  [base, dev] = await Promise.all([render('base'), render('overlays/dev')]);
}, 60_000);

describe.each([
  ['base', () => base],
  ['overlays/dev', () => dev],
])('kustomization %s', (_name, objects) => {
  it('renders objects that are all valid against the Kubernetes schemas', () => {
    expect(objects().length).toBeGreaterThan(20);
    expect(validateAgainstSchemas(objects())).toEqual([]);
  });

  it('has Services whose selectors and target ports match their pods', () => {
    for (const service of of(objects(), 'Service')) {
      const pods = of(objects(), 'Deployment').filter((deployment) => matches(sspec(service).selector, dspec(deployment).template.metadata.labels));
      expect(pods.map((pod) => pod.metadata.name), service.metadata.name).toHaveLength(1);
      const ports = containersOf(pods[0]!).flatMap((container) => container.ports ?? []);
      for (const port of sspec(service).ports as { targetPort: string | number }[]) {
        expect(ports.some((candidate) => candidate.name === port.targetPort || candidate.containerPort === port.targetPort), `${service.metadata.name} -> ${port.targetPort}`).toBe(true);
      }
    }
    for (const deployment of of(objects(), 'Deployment')) expect(matches(dspec(deployment).selector.matchLabels, dspec(deployment).template.metadata.labels), deployment.metadata.name).toBe(true);
  });

  it('references only ConfigMap and Secret keys that exist', () => {
    const keys = (kind: string, name: string) => {
      const object = named(objects(), kind, name);
      return new Set(Object.keys({ ...object.data, ...object.stringData }));
    };
    for (const deployment of of(objects(), 'Deployment')) {
      for (const variable of containersOf(deployment).flatMap((container) => container.env ?? [])) {
        const configMap = variable.valueFrom?.configMapKeyRef;
        const secret = variable.valueFrom?.secretKeyRef;
        if (configMap !== undefined) expect(keys('ConfigMap', configMap.name), `${deployment.metadata.name}: ${variable.name}`).toContain(configMap.key);
        if (secret !== undefined) expect(keys('Secret', secret.name), `${deployment.metadata.name}: ${variable.name}`).toContain(secret.key);
      }
    }
  });

  it('probes ports the container has', () => {
    for (const deployment of of(objects(), 'Deployment')) {
      for (const container of containersOf(deployment)) {
        for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
          if (probe === undefined) continue;
          const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
          if (port === undefined) continue; // exec probes
          expect(container.ports?.some((candidate) => candidate.name === port || candidate.containerPort === port), `${deployment.metadata.name}: ${port}`).toBe(true);
        }
      }
    }
  });

  it('names only in-cluster URLs whose Service and port exist', () => {
    const text = JSON.stringify(objects());
    const urls = serviceUrls(text).filter(({ host }) => host !== 'change-me');
    expect(urls.length).toBeGreaterThan(5);
    for (const { host, port } of urls) {
      const service = of(objects(), 'Service').find((candidate) => candidate.metadata.name === host);
      expect(service, `${host}:${port}`).toBeDefined();
      expect(sspec(service!).ports.map((candidate) => candidate.port), `${host}:${port}`).toContain(port);
    }
  });
});

describe('the Ensemble Deployments', () => {
  it('run every long-running service of the image with probes on /ready and /health on its own port', () => {
    const deployments = ensembleDeployments(base);
    // The image the Dockerfile labels with the package's version (`ARG VERSION`, dockerfile.test.ts).
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const deployment of deployments) expect(imageOf(deployment), deployment.metadata.name).toBe(`ensemble:${version}`);
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(['gateway', 'mcp-tools', 'orchestrator', 'planning-agent', 'rag-agent', 'reasoning-agent']);
    for (const deployment of deployments) {
      const [container] = containersOf(deployment);
      const image = imageService(container!.args![0]!);
      expect(image.name, deployment.metadata.name).toBe(deployment.metadata.name);
      expect(container!.ports, image.name).toEqual([{ name: 'http', containerPort: image.defaultPort, protocol: 'TCP' }]);
      const portVariable = container!.env?.find((variable) => variable.name === image.portVariable);
      expect(portVariable?.value, image.name).toBe(String(image.defaultPort));
      expect(container!.livenessProbe?.httpGet, image.name).toEqual({ path: image.healthPath, port: 'http' });
      expect(container!.readinessProbe?.httpGet, image.name).toEqual({ path: image.readyPath, port: 'http' });
    }
  });

  it("give every service only variables the README's configuration table says it reads", () => {
    const table = readmeConfiguration();
    const viaMcpConfig = mcpConfigVariables();
    const problems: string[] = [];
    for (const deployment of ensembleDeployments(dev)) {
      const name = deployment.metadata.name;
      for (const env of containersOf(deployment).map((container) => container.env ?? [])) {
        for (const variable of env.filter((candidate) => !expansionOnly(env, candidate))) {
          const row = table.get(variable.name);
          if (row === undefined) problems.push(`${name}: ${variable.name} is not in the README's configuration table`);
          else if (!readsVariable(row, name) && !(name === 'reasoning-agent' && viaMcpConfig.has(variable.name))) problems.push(`${name}: ${variable.name} is read by ${row.readBy.join(', ')}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('take every operator setting from the ConfigMap or the Secret, in every service that reads it', () => {
    const table = readmeConfiguration();
    const problems: string[] = [];
    for (const setting of OPERATOR_SETTINGS) {
      const row = table.get(setting);
      if (row === undefined) throw new Error(`${setting} is not in the README's configuration table`);
      const readers = ensembleDeployments(base).filter((deployment) => readsVariable(row, deployment.metadata.name));
      expect(readers.length, setting).toBeGreaterThan(0);
      for (const deployment of readers) {
        const variable = containersOf(deployment)[0]!.env?.find((candidate) => candidate.name === setting);
        if (variable?.valueFrom?.configMapKeyRef === undefined && variable?.valueFrom?.secretKeyRef === undefined) problems.push(`${deployment.metadata.name}: ${setting} is not taken from the ConfigMap or the Secret`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('have every A2A service announce an address others reach (the image binds 0.0.0.0): its Service, or its pod', () => {
    const announcing = [...readmeConfiguration().values()].filter((row) => row.name.endsWith('_PUBLIC_URL') && !row.readBy.includes('agents'));
    for (const deployment of ensembleDeployments(base)) {
      const [container] = containersOf(deployment);
      for (const row of announcing.filter((candidate) => readsVariable(candidate, deployment.metadata.name))) {
        const port = container!.ports![0]!.containerPort;
        expect([`http://${deployment.metadata.name}:${port}`, `http://$(POD_IP):${port}`], `${deployment.metadata.name}: ${row.name}`).toContain(
          container!.env?.find((variable) => variable.name === row.name)?.value,
        );
      }
    }
  });

  it("let each orchestrator replica announce its own pod's URL in the replica registry (not the Service's, one entry for all)", () => {
    const [container] = containersOf(named(base, 'Deployment', 'orchestrator'));
    const env = container!.env ?? [];
    const announced = env.find((variable) => variable.name === 'ORCHESTRATOR_PUBLIC_URL');
    const expansion = /^http:\/\/\$\(([A-Z_]+)\):(\d+)$/.exec(announced?.value ?? '');
    expect(expansion, announced?.value).not.toBeNull();
    expect(Number(expansion![2])).toBe(container!.ports![0]!.containerPort);
    // Kubernetes expands $(NAME) only from a variable defined earlier in the list.
    const source = env.slice(0, env.indexOf(announced!)).find((variable) => variable.name === expansion![1]);
    expect(source?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
  });

  it('have resources, a non-root read-only securityContext, and a grace period that covers the drain', () => {
    const config = named(base, 'ConfigMap', 'ensemble-config').data!;
    const drainMs = Number(config['A2A_SHUTDOWN_GRACE_MS']) + 10_000; // running tasks, then the HTTP server's close
    for (const deployment of ensembleDeployments(base)) {
      const pod = dspec(deployment).template.spec;
      const [container] = containersOf(deployment);
      expect(Object.keys(container!.resources?.requests ?? {}).sort(), deployment.metadata.name).toEqual(['cpu', 'memory']);
      expect(Object.keys(container!.resources?.limits ?? {}), deployment.metadata.name).toContain('memory');
      expect(pod.securityContext, deployment.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: imageUser().uid, runAsGroup: imageUser().gid });
      expect(container!.securityContext, deployment.metadata.name).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      const preStop = container!.lifecycle?.preStop?.exec?.command;
      const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
      expect(pod.terminationGracePeriodSeconds * 1000, deployment.metadata.name).toBeGreaterThanOrEqual(preStopMs + drainMs);
    }
  });

  it('scale the gateway, the orchestrator and the agents, and keep one of each up through disruptions', () => {
    const autoscaled = of(base, 'HorizontalPodAutoscaler').map((hpa) => (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name);
    expect(autoscaled.sort()).toEqual(['gateway', 'orchestrator', 'planning-agent', 'rag-agent', 'reasoning-agent']);
    for (const deployment of ensembleDeployments(base)) {
      const budgets = of(base, 'PodDisruptionBudget').filter((pdb) => matches((pdb.spec as { selector: { matchLabels: Labels } }).selector.matchLabels, dspec(deployment).template.metadata.labels));
      expect(budgets, deployment.metadata.name).toHaveLength(1);
      expect(dspec(deployment).replicas, deployment.metadata.name).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('NetworkPolicies', () => {
  /** Which pods may open connections to `target`'s pods: `*` for anywhere, else the sources' names. */
  function allowedSources(target: Manifest): string[] {
    const labels = dspec(target).template.metadata.labels as Record<string, string>;
    const policies = of(base, 'NetworkPolicy').filter((policy) => matches(pspec(policy).podSelector.matchLabels, labels));
    const sources = new Set<string>();
    for (const policy of policies) {
      for (const rule of pspec(policy).ingress ?? []) {
        if (rule.from === undefined) sources.add('*');
        for (const peer of rule.from ?? []) {
          for (const deployment of ensembleDeployments(base)) if (matches(peer.podSelector!.matchLabels, dspec(deployment).template.metadata.labels)) sources.add(deployment.metadata.name);
        }
      }
    }
    return [...sources].sort();
  }

  it('deny ingress to every Ensemble pod by default', () => {
    const denyAll = of(base, 'NetworkPolicy').filter((policy) => pspec(policy).ingress === undefined && pspec(policy).policyTypes.includes('Ingress'));
    expect(denyAll).toHaveLength(1);
    for (const deployment of ensembleDeployments(base)) expect(matches(pspec(denyAll[0]!).podSelector.matchLabels, dspec(deployment).template.metadata.labels)).toBe(true);
  });

  it('let only the gateway take outside traffic; agents are reached by the orchestrator and the planner', () => {
    const sources = Object.fromEntries(ensembleDeployments(base).map((deployment) => [deployment.metadata.name, allowedSources(deployment)]));
    expect(sources).toEqual({
      gateway: ['*'],
      orchestrator: ['gateway'],
      'planning-agent': ['orchestrator'],
      'reasoning-agent': ['orchestrator', 'planning-agent'],
      'rag-agent': ['orchestrator', 'planning-agent'],
      'mcp-tools': ['reasoning-agent'],
    });
  });

  it('leave egress open: Redis, PostgreSQL, the LLM and the OTLP collector are outside the namespace (docs/deployment.md says so)', () => {
    expect(of(base, 'NetworkPolicy').filter((policy) => pspec(policy).policyTypes.includes('Egress')).map((policy) => policy.metadata.name)).toEqual([]);
    expect(readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8')).toMatch(/Egress is not restricted by the NetworkPolicies/);
  });

  it('open exactly the port each pod serves', () => {
    for (const policy of of(base, 'NetworkPolicy')) {
      const target = ensembleDeployments(base).find((deployment) => matches(pspec(policy).podSelector.matchLabels, dspec(deployment).template.metadata.labels));
      const ingress = pspec(policy).ingress;
      if (target === undefined || ingress === undefined) continue;
      const served = containersOf(target).flatMap((container) => container.ports ?? []).map((port) => port.containerPort);
      for (const rule of ingress) expect(rule.ports.map((port) => port.port), policy.metadata.name).toEqual(served);
    }
  });
});

describe('the dev overlay', () => {
  it('adds single-replica Redis, PostgreSQL with pgvector and Phoenix, and points the services at them', () => {
    for (const [name, image] of [['redis', /^redis:/], ['postgres', /^pgvector\/pgvector:/], ['phoenix', /^arizephoenix\/phoenix:/]] as const) {
      const deployment = named(dev, 'Deployment', name);
      expect(dspec(deployment).replicas, name).toBe(1);
      expect(imageOf(deployment), name).toMatch(image);
      expect(base.some((object) => object.metadata.name === name), `${name} is not in the base`).toBe(false);
    }
    const secrets = named(dev, 'Secret', 'ensemble-secrets').stringData!;
    expect(secrets['redis-url']).toBe('redis://redis:6379');
    expect(secrets['database-url']).toMatch(/@postgres:5432\//);
    expect(named(dev, 'ConfigMap', 'ensemble-config').data!['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe('http://phoenix:6006');
    expect(dev.every((object) => object.kind === 'Namespace' || object.metadata.namespace === 'ensemble-dev')).toBe(true);
  });

  it('keeps the README and this test in step with the base files on disk', () => {
    // Every file in the base kustomization is rendered (a file left out of `resources` would go unchecked).
    const kustomization = readFileSync(join(REPO_ROOT, 'deploy/kubernetes/base/kustomization.yaml'), 'utf8');
    for (const file of ['config.yaml', 'secrets.yaml', 'network-policies.yaml', ...ensembleDeployments(base).map((deployment) => `${deployment.metadata.name}.yaml`)]) expect(kustomization).toContain(`- ${file}`);
  });
});
