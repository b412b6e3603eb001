import fs from 'node:fs';
import os from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/cli/config.js';
import { cli } from '../helpers/cli.js';
import { createLiteLLMTables, LiteLLMWrites } from '../helpers/litellm-postgres.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { renderKustomization, type K8sObject } from './kustomize.js';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  restartPolicy?: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: Mount[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: unknown;
  livenessProbe?: { httpGet?: { path: string; port: string } };
}
interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: { name: string; emptyDir?: object; configMap?: object }[];
}

function podSpecOf(variant: string): PodSpec {
  const deployment = renderKustomization(join(DEPLOY, variant)).find((o) => o.kind === 'Deployment') as K8sObject;
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}
const env = (c: Container | undefined): Record<string, string> => Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? '']));
/** The mount of `c` whose directory holds `path`. */
const mountHolding = (c: Container | undefined, path: string): Mount | undefined =>
  c?.volumeMounts?.find((m) => path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));

describe('deploy/overlays/sqlite', () => {
  const spec = podSpecOf('overlays/sqlite');
  const sidecar = spec.initContainers.find((c) => c.name === 'guardrail-pdp');
  const config = loadServeConfig({}, env(sidecar));
  const dbPath = config.source.path;

  it('serves a db instead of the bundle file', () => {
    expect(config.source.kind).toBe('db');
    expect(env(sidecar).PDP_BUNDLE).toBeUndefined();
  });

  it("reads the db from an emptyDir that the sidecar mounts read-only and the producers can write", () => {
    const mount = mountHolding(sidecar, dbPath);
    expect(mount?.readOnly).toBe(true);
    expect(spec.volumes.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
    const producers = [...spec.initContainers, ...spec.containers].filter((c) => [...(c.command ?? []), ...(c.args ?? [])].join(' ').includes(dbPath));
    expect(producers.map((c) => c.name).sort()).toEqual(['policies-db-producer', 'policies-db-seed']);
    for (const p of producers) {
      const writable = mountHolding(p, dbPath);
      expect(writable?.name, p.name).toBe(mount?.name);
      expect(writable?.readOnly, p.name).not.toBe(true);
      // Same directory in every container, so the db path in the producer's command is the served one.
      expect(writable?.mountPath, p.name).toBe(mount?.mountPath);
    }
  });

  it('writes the first db in a plain init container that runs before the sidecar starts', () => {
    const names = spec.initContainers.map((c) => c.name);
    expect(names.indexOf('policies-db-seed')).toBeLessThan(names.indexOf('guardrail-pdp'));
    expect(spec.initContainers.find((c) => c.name === 'policies-db-seed')?.restartPolicy).toBeUndefined();
    expect(spec.containers.map((c) => c.name)).toContain('policies-db-producer');
  });

  it('lets the producers write temp files only on their own volumes (the root filesystem is read-only)', () => {
    for (const name of ['policies-db-seed', 'policies-db-producer']) {
      const c = [...spec.initContainers, ...spec.containers].find((x) => x.name === name);
      expect(mountHolding(c, '/tmp/x'), name).toBeDefined();
    }
  });
});

describe('deploy/base: the Unix socket', () => {
  const spec = podSpecOf('base');
  const sidecar = spec.initContainers.find((c) => c.name === 'guardrail-pdp');
  const gateway = spec.containers.find((c) => c.name === 'gateway');
  const listen = loadServeConfig({}, env(sidecar)).listen;

  it('listens on a Unix socket anyone in the pod who mounts it may connect to, and gives the gateway the same address', () => {
    expect(listen).toMatchObject({ kind: 'unix', mode: 0o666 });
    expect(env(gateway).GUARDRAIL_PDP_ADDRESS).toBe(env(sidecar).PDP_LISTEN);
  });

  it("puts the socket in an emptyDir mounted at the same path in the sidecar and the gateway", () => {
    const socket = listen.kind === 'unix' ? listen.path : '';
    const inSidecar = mountHolding(sidecar, socket);
    const inGateway = mountHolding(gateway, socket);
    expect(inSidecar?.readOnly).not.toBe(true); // the sidecar creates the socket
    expect(inGateway?.name).toBe(inSidecar?.name);
    expect(inGateway?.mountPath).toBe(inSidecar?.mountPath);
    expect(posix.dirname(socket)).toBe(inSidecar?.mountPath);
    expect(spec.volumes.find((v) => v.name === inSidecar?.name)?.emptyDir).toBeDefined();
  });
});

describe('deploy/overlays/loopback-tcp', () => {
  const spec = podSpecOf('overlays/loopback-tcp');
  const sidecar = spec.initContainers.find((c) => c.name === 'guardrail-pdp');
  const gateway = spec.containers.find((c) => c.name === 'gateway');

  it('listens on the pod loopback and gives the gateway the same address', () => {
    expect(loadServeConfig({}, env(sidecar)).listen).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 50051 });
    expect(env(gateway).GUARDRAIL_PDP_ADDRESS).toBe(env(sidecar).PDP_LISTEN);
  });

  it('leaves no socket volume, mount or mode behind', () => {
    expect(spec.volumes.map((v) => v.name)).toEqual(['guardrail-pdp-bundle']);
    for (const c of [sidecar, gateway]) expect((c?.volumeMounts ?? []).map((m) => m.name)).not.toContain('guardrail-pdp-socket');
    expect(env(sidecar).PDP_SOCKET_MODE).toBeUndefined();
  });
});

describe('deploy/overlays/postgres', () => {
  const objects = renderKustomization(join(DEPLOY, 'overlays/postgres'));
  const spec = podSpecOf('overlays/postgres');
  const sidecar = spec.initContainers.find((c) => c.name === 'guardrail-pdp');
  const seed = spec.initContainers.find((c) => c.name === 'policies-db-seed') as Container;
  const sync = spec.containers.find((c) => c.name === 'policies-db-sync') as Container;
  const dbPath = loadServeConfig({}, env(sidecar)).source.path;
  const flag = (c: Container, name: string): string | undefined => {
    const i = (c.args ?? []).indexOf(name);
    return i < 0 ? undefined : c.args?.[i + 1];
  };

  it('serves a db from an emptyDir that the sidecar mounts read-only and the seed and sync containers write', () => {
    expect(loadServeConfig({}, env(sidecar)).source.kind).toBe('db');
    const mount = mountHolding(sidecar, dbPath);
    expect(mount?.readOnly).toBe(true);
    expect(spec.volumes.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
    for (const c of [seed, sync]) {
      expect(c.args?.slice(0, 3), c.name).toEqual(['compile', '--from-postgres', 'env:DATABASE_URL']);
      expect(flag(c, '-o'), c.name).toBe(dbPath);
      expect(mountHolding(c, dbPath)?.name, c.name).toBe(mount?.name);
      expect(mountHolding(c, dbPath)?.readOnly, c.name).not.toBe(true);
      expect(mountHolding(c, '/tmp/x'), c.name).toBeDefined();
    }
  });

  it('writes the first db before the sidecar starts, then syncs in a regular container', () => {
    const names = spec.initContainers.map((c) => c.name);
    expect(names.indexOf('policies-db-seed')).toBeLessThan(names.indexOf('guardrail-pdp'));
    expect(seed.restartPolicy).toBeUndefined();
    expect(flag(seed, '--watch')).toBeUndefined();
    expect(Number(flag(sync, '--watch'))).toBeGreaterThanOrEqual(10);
  });

  it('takes the database URL from a Secret, never from the manifests', () => {
    for (const c of [seed, sync]) {
      expect(c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef, c.name).toEqual({ name: 'litellm-database', key: 'url' });
    }
    expect(JSON.stringify(objects)).not.toMatch(/postgres(ql)?:\/\//);
  });

  it("serves the sync container's /metrics through the metrics Service and ServiceMonitor, with no readiness probe", () => {
    const port = sync.ports?.find((p) => `0.0.0.0:${p.containerPort}` === flag(sync, '--metrics-listen'));
    expect(port?.name).toBeDefined();
    expect(sync.readinessProbe).toBeUndefined(); // a Postgres outage must not take the gateway out of its Service
    expect(sync.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: port?.name });
    const service = objects.find((o) => o.metadata.name === 'llm-gateway-pdp-metrics') as K8sObject & { spec: { ports: { name: string; targetPort: string }[] } };
    const servicePort = service.spec.ports.find((p) => p.targetPort === port?.name);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as K8sObject & { spec: { endpoints: { port: string; path: string }[] } };
    expect(monitor.spec.endpoints).toContainEqual(expect.objectContaining({ port: servicePort?.name, path: '/metrics' }));
  });

  describe('its commands, run against LiteLLM\'s tables in a real PostgreSQL', () => {
    let pg: TestPostgres;
    let dir: string;
    beforeAll(async () => {
      pg = await startPostgres();
      await createLiteLLMTables(pg);
      dir = fs.mkdtempSync(join(os.tmpdir(), 'pdp-overlay-pg-'));
    }, 60_000);
    afterAll(async () => {
      await pg?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the seed's command writes a db the sidecar's config serves, with the config's guardrails and the database's", async () => {
      const w = new LiteLLMWrites(pg);
      await w.createGuardrail('ui-defined-check', { guardrail: 'custom', mode: 'pre_call' });
      await w.createPolicy({ name: 'baseline', add: ['presidio-pii', 'ui-defined-check'] });
      await w.attach({ policy: 'baseline', scope: '*' });
      const configMount = (seed.volumeMounts ?? []).find((m) => m.name === 'guardrail-pdp-bundle') as Mount;
      const local = (p: string): string =>
        p.replace(posix.dirname(dbPath), dir).replace(configMount.mountPath, join(DEPLOY, 'base'));
      const r = await cli((seed.args ?? []).map(local), { DATABASE_URL: pg.url() });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const answer = await cli(['resolve', '--db', local(dbPath), '--context', '{}']);
      expect(JSON.parse(answer.stdout).guardrails).toEqual(['presidio-pii', 'ui-defined-check']);
    });
  });
});
