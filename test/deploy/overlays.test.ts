import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/cli/config.js';
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
  env?: { name: string; value?: string }[];
  volumeMounts?: Mount[];
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

describe('deploy/overlays/unix-socket', () => {
  const spec = podSpecOf('overlays/unix-socket');
  const sidecar = spec.initContainers.find((c) => c.name === 'guardrail-pdp');
  const gateway = spec.containers.find((c) => c.name === 'gateway');
  const listen = loadServeConfig({}, env(sidecar)).listen;

  it('listens on a Unix socket and gives the gateway the same address', () => {
    expect(listen.kind).toBe('unix');
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
