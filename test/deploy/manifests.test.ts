import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEFAULTS, loadServeConfig, SERVE_OPTIONS } from '../../src/cli/config.js';
import { compile } from '../../src/compile/compile.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { startApp, type Started } from '../helpers/app.js';
import { podContainers, readKustomization, renderKustomization, type K8sObject } from './kustomize.js';
import { finalStage, parseDockerfile } from './dockerfile.js';
import { finish } from '../../src/steps.js';
import { DEFAULT_SIDECAR, sidecarSpec } from '../../src/kube/sidecar.js';
import { HAS_KUBECTL } from '../helpers/kubectl.js';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
const VARIANTS = ['base', 'overlays/sqlite', 'overlays/loopback-tcp', 'overlays/postgres'] as const;
const SIDECAR = 'guardrail-pdp';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  restartPolicy?: string;
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  [probe: string]: unknown;
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: object }[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
}

const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as K8sObject;
};
const podSpec = (d: K8sObject): PodSpec => (d.spec as { template: { spec: PodSpec } }).template.spec;
const podLabels = (d: K8sObject): Record<string, string> => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const sidecarOf = (spec: PodSpec): Container => spec.initContainers?.find((c) => c.name === SIDECAR) as Container;
const envOf = (c: Container): Record<string, string> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));
const mebibytes = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};
const DOCKER_USER = finalStage(parseDockerfile(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))).user;

describe.each(VARIANTS)('deploy/%s', (variant) => {
  const objects = renderKustomization(join(DEPLOY, variant));
  const deployment = one(objects, 'Deployment');
  const spec = podSpec(deployment);
  const sidecar = sidecarOf(spec);
  const env = envOf(sidecar);
  const config = loadServeConfig({}, env);

  it.runIf(HAS_KUBECTL)('renders exactly as kubectl kustomize does', () => {
    const out = execFileSync('kubectl', ['kustomize', join(DEPLOY, variant)], { encoding: 'utf8' });
    const byKey = (list: unknown[]) => new Map((list as K8sObject[]).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    expect(byKey(parseAllDocuments(out).map((d) => d.toJS()))).toEqual(byKey(objects));
  });

  it('validates the Deployment, Services and ConfigMaps against the Kubernetes schemas', () => {
    for (const o of objects) {
      if (o.kind === 'Deployment') expect(() => new Deployment(o as never).validate()).not.toThrow();
      if (o.kind === 'Service') expect(() => new Service(o as never).validate()).not.toThrow();
      if (o.kind === 'ConfigMap') expect(() => new ConfigMap(o as never).validate()).not.toThrow();
    }
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service', 'Service', 'ServiceMonitor']);
  });

  it('runs guardrail-pdp as a native sidecar (an init container that restarts), with only `serve` as args', () => {
    expect(sidecar.restartPolicy).toBe('Always');
    expect(spec.containers.map((c) => c.name)).not.toContain(SIDECAR);
    // PDP_* variables configure it; a flag would win over its variable.
    expect(sidecar.args).toEqual(['serve']);
  });

  it('uses only real serve options, with values serve accepts', () => {
    const known = new Set<string>(SERVE_OPTIONS.map((o) => o.env));
    for (const name of Object.keys(env).filter((n) => n.startsWith('PDP_'))) expect(known, name).toContain(name);
    expect(config.adminListen.port).toBe(portOf(DEFAULTS.adminListen));
  });

  it('probes the admin port: startup and readiness on /readyz, liveness on /healthz', () => {
    const adminPort = sidecar.ports?.find((p) => p.containerPort === config.adminListen.port);
    expect(adminPort?.name).toBeDefined();
    const probes = { startupProbe: '/readyz', readinessProbe: '/readyz', livenessProbe: '/healthz' };
    for (const [probe, path] of Object.entries(probes)) {
      expect(sidecar[probe], probe).toMatchObject({ httpGet: { path, port: adminPort?.name } });
    }
  });

  it('tells the gateway the address the sidecar listens on', () => {
    const gateway = spec.containers.find((c) => c.name === 'gateway') as Container;
    expect(envOf(gateway).GUARDRAIL_PDP_ADDRESS).toBe(env.PDP_LISTEN);
    if (config.listen.kind === 'tcp') expect(['127.0.0.1', '::1']).toContain(config.listen.host);
  });

  it('hardens every guardrail-pdp container and runs it as the Dockerfile user', () => {
    const pdp = podContainers([deployment]).filter((c) => c.image?.includes('guardrail-pdp'));
    expect(pdp.map((c) => c.name)).toContain(SIDECAR);
    expect(new Set(pdp.map((c) => c.image)).size).toBe(1);
    for (const c of pdp as Container[]) {
      expect(c.securityContext, c.name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: Number(DOCKER_USER.split(':')[0]),
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      const seccomp = (c.securityContext?.seccompProfile ?? spec.securityContext?.seccompProfile) as { type?: string } | undefined;
      expect(seccomp?.type, c.name).toBe('RuntimeDefault');
    }
  });

  it('requests CPU and memory for the sidecar and caps its memory above the request', () => {
    const { requests, limits } = sidecar.resources ?? {};
    expect(requests?.cpu).toMatch(/^\d+m$/);
    expect(mebibytes(limits?.memory ?? '0Mi')).toBeGreaterThan(mebibytes(requests?.memory ?? '0Mi'));
  });

  it("gives the pod longer to terminate than the sidecar's shutdown grace", () => {
    expect((spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(config.shutdownGraceMs);
  });

  it('annotates the pod for Prometheus scraping of the admin port', () => {
    const annotations = (deployment.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    expect(annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(config.adminListen.port),
      'prometheus.io/path': '/metrics',
    });
  });

  it('exposes the admin port in a Service that the ServiceMonitor selects by label and port name', () => {
    const monitor = one(objects, 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: object }; endpoints: { port: string; path: string }[] } };
    const services = objects.filter((o) => o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(services).toHaveLength(1);
    const service = services[0]?.spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
    expect(podLabels(deployment)).toMatchObject(service.selector);
    const endpoint = monitor.spec.endpoints[0];
    expect(endpoint?.path).toBe('/metrics');
    const port = service.ports.find((p) => p.name === endpoint?.port);
    const target = sidecar.ports?.find((p) => p.name === port?.targetPort);
    expect(target?.containerPort).toBe(config.adminListen.port);
  });

  it('mounts the bundle ConfigMap as a directory (no subPath), so updates reach the watcher', () => {
    const configMap = one(objects, 'ConfigMap');
    const volume = spec.volumes?.find((v) => v.configMap?.name === configMap.metadata.name);
    expect(volume).toBeDefined();
    const mounts = podContainers([deployment]).flatMap((c) => (c as Container).volumeMounts ?? []).filter((m) => m.name === volume?.name);
    expect(mounts.length).toBeGreaterThan(0);
    for (const m of mounts) expect(m.subPath).toBeUndefined();
    if (config.source.kind === 'bundle') {
      const mount = sidecar.volumeMounts?.find((m) => m.name === volume?.name);
      expect(Object.keys(configMap.data as object)).toContain(posix.relative(mount?.mountPath ?? '', config.source.path));
    }
  });
});

describe('deploy/base', () => {
  const base = join(DEPLOY, 'base');
  let started: Started | undefined;
  afterAll(async () => started?.stop());

  it('generates the bundle ConfigMap from a bundle that compiles in strict mode without issues', () => {
    const [generator] = readKustomization(base).configMapGenerator ?? [];
    expect(generator?.options?.disableNameSuffixHash).toBe(true); // updated in place: hot reload, not a rollout
    for (const file of generator?.files ?? []) {
      const result = finish(compile(parseBundleText(readFileSync(join(base, file), 'utf8'), file), { mode: 'strict' }));
      expect(result.issues).toEqual([]);
      expect(result.ok).toBe(true);
    }
  });

  it('serves the bundle with the probe paths answering 200 once ready', async () => {
    const sidecar = sidecarOf(podSpec(one(renderKustomization(base), 'Deployment')));
    started = await startApp(join(base, 'bundle.yaml'));
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const path = (sidecar[probe] as { httpGet: { path: string } }).httpGet.path;
      expect((await fetch(`http://${started.adminAddress}${path}`)).status, probe).toBe(200);
    }
  });

  it('runs exactly the sidecar that inject and the injector add (src/kube/sidecar.ts), so they cannot drift', () => {
    const spec = podSpec(one(renderKustomization(base), 'Deployment'));
    const sidecar = sidecarOf(spec);
    const built = sidecarSpec({ ...DEFAULT_SIDECAR, image: sidecar.image as string });
    expect(built.placement).toBe('initContainers');
    expect(sidecar).toEqual(built.container);
    for (const v of built.volumes) expect(spec.volumes).toContainEqual(v);
    for (const c of spec.containers) for (const e of built.appEnv) expect(c.env).toContainEqual(e);
  });

  it('serves the same bundle path as the image by default', () => {
    const sidecar = sidecarOf(podSpec(one(renderKustomization(base), 'Deployment')));
    const cmd = finalStage(parseDockerfile(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))).cmd;
    expect(cmd?.[cmd.indexOf('--bundle') + 1]).toBe(envOf(sidecar).PDP_BUNDLE);
  });
});

describe('deploy kustomizations', () => {
  it.each(VARIANTS)('%s lists only resources, patches and files that exist', (dir) => {
    const k = readKustomization(join(DEPLOY, dir));
    const files = [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path), ...(k.configMapGenerator ?? []).flatMap((g) => g.files)];
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(existsSync(join(DEPLOY, dir, f)), f).toBe(true);
  });
});
