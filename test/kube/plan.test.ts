import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, INJECT_KEY, parseQuantity, STATUS_ANNOTATION } from '../../src/kube/annotations.js';
import { planInjection, type InjectSettings, type Plan } from '../../src/kube/plan.js';
import { DEFAULT_SIDECAR, sidecarSpec } from '../../src/kube/sidecar.js';
import type { PodTemplate } from '../../src/kube/types.js';
import { applyPatch, validateObject } from '../helpers/kube.js';

const SOCKET_ADDRESS = 'unix:///var/run/guardrail-pdp/pdp.sock';
const SETTINGS: InjectSettings = { defaults: { ...DEFAULT_SIDECAR, image: 'registry.example.com/guardrail-pdp:0.1.0' }, all: false };

/** A selected pod template with one app container; `spec` and `annotations` are merged in. */
function template(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): PodTemplate {
  return {
    metadata: { labels: { app: 'gw', [INJECT_KEY]: 'true' }, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'gateway', image: 'litellm' }], ...spec },
  };
}

function injected(t: PodTemplate, settings = SETTINGS): PodTemplate {
  const plan = planInjection(t, settings);
  if (plan.action !== 'inject') throw new Error(`expected an injection, got ${JSON.stringify(plan)}`);
  return applyPatch(t, plan.ops);
}

const reasons = (plan: Plan): readonly string[] => (plan.action === 'refuse' ? plan.reasons : []);
const asPod = (t: PodTemplate) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...t.metadata }, spec: t.spec });

describe('planInjection: which templates', () => {
  it.each([
    ['label true', { labels: { [INJECT_KEY]: 'true' } }, false, 'inject'],
    ['annotation true', { annotations: { [INJECT_KEY]: 'true' } }, false, 'inject'],
    ['nothing', {}, false, 'skip'],
    ['nothing, with all', {}, true, 'inject'],
    ['label false, with all', { labels: { [INJECT_KEY]: 'false' } }, true, 'skip'],
    ['label true, annotation false', { labels: { [INJECT_KEY]: 'true' }, annotations: { [INJECT_KEY]: 'false' } }, true, 'skip'],
    ['label yes', { labels: { [INJECT_KEY]: 'yes' } }, false, 'refuse'],
  ])('%s', (_, metadata, all, action) => {
    const plan = planInjection({ metadata, spec: { containers: [{ name: 'a' }] } }, { ...SETTINGS, all });
    expect(plan.action).toBe(action);
  });

  it('refuses a value YAML read as a boolean (unquoted true), naming it', () => {
    const plan = planInjection({ metadata: { labels: { [INJECT_KEY]: true as never } }, spec: { containers: [{ name: 'a' }] } }, SETTINGS);
    expect(reasons(plan)).toEqual([`label ${INJECT_KEY}: true is not a string (quote it)`]);
  });
});

describe('planInjection: what it adds', () => {
  it('adds the native sidecar, its volume, the address in every app container and the status annotation', () => {
    const t = template({ containers: [{ name: 'gateway' }, { name: 'shipper', env: [{ name: 'A', value: '1' }] }] });
    const out = injected(t);
    const spec = sidecarSpec(SETTINGS.defaults);
    expect(out.spec?.initContainers).toEqual([spec.container]);
    expect(out.spec?.volumes).toEqual(spec.volumes);
    expect(out.spec?.containers.map((c) => c.env)).toEqual([[...spec.appEnv], [{ name: 'A', value: '1' }, ...spec.appEnv]]);
    expect(out.metadata?.annotations).toEqual({ [STATUS_ANNOTATION]: 'injected' });
    expect(() => validateObject(asPod(out))).not.toThrow();
  });

  it('appends after existing init containers and volumes, leaving them in place', () => {
    const t = template({ initContainers: [{ name: 'seed' }], volumes: [{ name: 'v', emptyDir: {} }] }, { other: 'x' });
    const out = injected(t);
    expect(out.spec?.initContainers?.map((c) => c.name)).toEqual(['seed', 'guardrail-pdp']);
    expect(out.spec?.volumes?.map((v) => v.name)).toEqual(['v', 'guardrail-pdp-bundle', 'guardrail-pdp-socket']);
    expect(out.metadata?.annotations).toEqual({ other: 'x', [STATUS_ANNOTATION]: 'injected' });
  });

  it('treats null lists and maps (`env:` with nothing after it) as absent, as the API server does', () => {
    const t = template({ initContainers: null, volumes: null, containers: [{ name: 'gateway', env: null, volumeMounts: null, ports: null }] } as never, undefined);
    (t.metadata as Record<string, unknown>).annotations = null;
    const out = injected(t);
    expect(out.spec?.initContainers?.map((c) => c.name)).toEqual(['guardrail-pdp']);
    expect(out.spec?.containers[0]?.env).toEqual([{ name: 'GUARDRAIL_PDP_ADDRESS', value: SOCKET_ADDRESS }]);
    expect(out.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'guardrail-pdp-socket', mountPath: '/var/run/guardrail-pdp' }]);
    expect(out.metadata?.annotations).toEqual({ [STATUS_ANNOTATION]: 'injected' });
  });

  it('creates metadata when a template has none (--all)', () => {
    const out = injected({ spec: { containers: [{ name: 'a' }] } }, { ...SETTINGS, all: true });
    expect(out.metadata).toEqual({ annotations: { [STATUS_ANNOTATION]: 'injected' } });
  });

  it('takes each setting from the annotations over the defaults', () => {
    const out = injected(
      template({}, {
        [ANNOTATIONS.image]: 'other/pdp:9',
        [ANNOTATIONS.bundleConfigMap]: 'team-a',
        [ANNOTATIONS.socket]: 'false',
        [ANNOTATIONS.cpuRequest]: '250m',
        [ANNOTATIONS.memoryRequest]: '200Mi',
        [ANNOTATIONS.memoryLimit]: '1Gi',
      }),
    );
    const expected = sidecarSpec({
      image: 'other/pdp:9',
      source: { kind: 'bundle', configMap: 'team-a' },
      listen: 'tcp',
      resources: { cpuRequest: '250m', memoryRequest: '200Mi', memoryLimit: '1Gi' },
      native: true,
    });
    expect(out.spec?.initContainers).toEqual([expected.container]);
    expect(out.spec?.containers[0]?.volumeMounts).toBeUndefined();
    expect(out.spec?.containers[0]?.env).toEqual([{ name: 'GUARDRAIL_PDP_ADDRESS', value: '127.0.0.1:50051' }]);
    expect(out.spec?.volumes?.map((v) => v.name)).toEqual(['guardrail-pdp-bundle']);
  });

  it("serves a db from a volume the pod has, read-only (its one volume is the socket's)", () => {
    const out = injected(template({ volumes: [{ name: 'dbs', emptyDir: {} }] }, { [ANNOTATIONS.db]: '/data/p.db', [ANNOTATIONS.dbVolume]: 'dbs' }));
    const sidecar = out.spec?.initContainers?.[0];
    expect(sidecar?.env?.[0]).toEqual({ name: 'PDP_DB', value: '/data/p.db' });
    expect(sidecar?.volumeMounts).toEqual([
      { name: 'dbs', mountPath: '/data', readOnly: true },
      { name: 'guardrail-pdp-socket', mountPath: '/var/run/guardrail-pdp' },
    ]);
    expect(out.spec?.volumes?.map((v) => v.name)).toEqual(['dbs', 'guardrail-pdp-socket']);
  });

  it('adds a classic sidecar as the last container', () => {
    const out = injected(template(), { ...SETTINGS, defaults: { ...SETTINGS.defaults, native: false } });
    expect(out.spec?.initContainers).toBeUndefined();
    expect(out.spec?.containers.map((c) => c.name)).toEqual(['gateway', 'guardrail-pdp']);
    expect(out.spec?.containers[1]?.restartPolicy).toBeUndefined();
    // The sidecar does not get its own address.
    expect(out.spec?.containers[1]?.env?.some((e) => e.name === 'GUARDRAIL_PDP_ADDRESS')).toBe(false);
  });

  it('keeps an app container that already has the same address as it is', () => {
    const t = template({ containers: [{ name: 'gateway', env: [{ name: 'GUARDRAIL_PDP_ADDRESS', value: SOCKET_ADDRESS }] }] });
    expect(injected(t).spec?.containers[0]?.env).toHaveLength(1);
  });
});

describe('planInjection: idempotence', () => {
  it.each([
    ['defaults', {}],
    ['tcp', { [ANNOTATIONS.socket]: 'false' }],
  ])('%s: a second pass is a skip', (_, annotations) => {
    const once = injected(template({}, annotations));
    expect(planInjection(once, SETTINGS)).toEqual({ action: 'skip', why: 'already_injected' });
    expect(planInjection(once, { ...SETTINGS, all: true, defaults: { ...SETTINGS.defaults, native: false } })).toEqual({ action: 'skip', why: 'already_injected' });
  });

  it('gives only the address (and socket mount) to an app container added after injection', () => {
    const once = injected(template({}, { [ANNOTATIONS.socket]: 'true' }));
    once.spec?.containers.push({ name: 'added-later', image: 'x' });
    const plan = planInjection(once, SETTINGS);
    expect(plan).toMatchObject({ action: 'inject', completed: true });
    const twice = applyPatch(once, plan.action === 'inject' ? plan.ops : []);
    expect(twice.spec?.containers[1]).toEqual({ ...once.spec?.containers[0], name: 'added-later', image: 'x' });
    expect(twice.spec?.initContainers).toEqual(once.spec?.initContainers);
  });
});

describe('planInjection: refusals', () => {
  it.each<[string, PodTemplate, string]>([
    ['a container with the sidecar name', template({ containers: [{ name: 'guardrail-pdp' }] }), 'a container named "guardrail-pdp" already exists (not injected)'],
    ['an init container with the sidecar name', template({ initContainers: [{ name: 'guardrail-pdp' }] }), 'a container named "guardrail-pdp" already exists (not injected)'],
    ['a volume with its name', template({ volumes: [{ name: 'guardrail-pdp-bundle', emptyDir: {} }] }), 'a volume named "guardrail-pdp-bundle" already exists'],
    ['the admin port', template({ containers: [{ name: 'gateway', ports: [{ containerPort: 9464 }] }] }), 'container "gateway" already uses port 9464'],
    ['the admin port name', template({ containers: [{ name: 'gateway', ports: [{ name: 'pdp-metrics', containerPort: 1 }] }] }), 'container "gateway" already has a port named "pdp-metrics"'],
    ['the decision API port, with TCP', template({ containers: [{ name: 'gateway', ports: [{ containerPort: 50051 }] }] }, { [ANNOTATIONS.socket]: 'false' }), 'container "gateway" already uses port 50051'],
    ['a volume with the socket volume name', template({ volumes: [{ name: 'guardrail-pdp-socket', emptyDir: {} }] }), 'a volume named "guardrail-pdp-socket" already exists'],
    ['hostNetwork', template({ hostNetwork: true }), "the pod uses hostNetwork: the sidecar's ports would be the node's"],
    ['another address', template({ containers: [{ name: 'gateway', env: [{ name: 'GUARDRAIL_PDP_ADDRESS', value: 'x:1' }] }] }), 'container "gateway" sets GUARDRAIL_PDP_ADDRESS to "x:1", not unix:///var/run/guardrail-pdp/pdp.sock'],
    ['an address from a reference', template({ containers: [{ name: 'gateway', env: [{ name: 'GUARDRAIL_PDP_ADDRESS', valueFrom: {} }] }] }), 'container "gateway" sets GUARDRAIL_PDP_ADDRESS to a reference, not unix:///var/run/guardrail-pdp/pdp.sock'],
    ['a db volume the pod lacks', template({}, { [ANNOTATIONS.db]: '/var/lib/x/p.db' }), 'the db volume "policies-db" is not a volume of the pod'],
    ['a bad CPU quantity', template({}, { [ANNOTATIONS.cpuRequest]: 'lots' }), `annotation ${ANNOTATIONS.cpuRequest}: 'lots' is not a CPU quantity (e.g. 100m, 0.5)`],
    ['a limit below the request', template({}, { [ANNOTATIONS.memoryRequest]: '1Gi' }), 'memory limit 256Mi is below the memory request 1Gi'],
    ['an unknown annotation', template({}, { 'guardrail-pdp.dev/memory': '1Gi' }), 'unknown annotation guardrail-pdp.dev/memory'],
    ['a relative db path', template({}, { [ANNOTATIONS.db]: 'p.db' }), `annotation ${ANNOTATIONS.db}: 'p.db' is not an absolute, normalised file path in a directory below / (e.g. /var/lib/guardrail-pdp/policies.db)`],
    ['a db and a bundle', template({}, { [ANNOTATIONS.db]: '/a/b.db', [ANNOTATIONS.bundleConfigMap]: 'x' }), `annotation ${ANNOTATIONS.db} and annotation ${ANNOTATIONS.bundleConfigMap}: give one (a db or a bundle)`],
    ['no containers', { metadata: { labels: { [INJECT_KEY]: 'true' } }, spec: { containers: [] } }, 'the pod has no containers'],
    ['no spec', { metadata: { labels: { [INJECT_KEY]: 'true' } } }, 'the pod template has no spec'],
    ['env that is not a list', template({ containers: [{ name: 'g', env: 'x' }] }), 'container "g": env is not a list'],
  ])('%s', (_, t, reason) => {
    expect(reasons(planInjection(t, SETTINGS))).toContain(reason);
  });

  it('refuses a classic sidecar in a pod that must complete, but not a native one', () => {
    const job = template({ restartPolicy: 'Never' });
    expect(reasons(planInjection(job, { ...SETTINGS, defaults: { ...SETTINGS.defaults, native: false } }))[0]).toMatch(/would never complete/);
    expect(planInjection(job, SETTINGS).action).toBe('inject');
  });

  it('does not count port 50051 against a socket sidecar (the default)', () => {
    const t = template({ containers: [{ name: 'gateway', ports: [{ containerPort: 50051 }] }] });
    expect(planInjection(t, SETTINGS).action).toBe('inject');
  });

  it('reports every reason at once', () => {
    const t = template({ hostNetwork: true, containers: [{ name: 'guardrail-pdp' }] }, { [ANNOTATIONS.cpuRequest]: 'x', [ANNOTATIONS.image]: 'bad image' });
    expect(reasons(planInjection(t, SETTINGS))).toHaveLength(2); // the annotations first: the rest needs valid options
    expect(reasons(planInjection(template({ hostNetwork: true, containers: [{ name: 'guardrail-pdp' }] }), SETTINGS))).toHaveLength(2);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['100m', 0.1],
    ['1', 1],
    ['0.5', 0.5],
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['2e3', 2000],
    ['1.5Gi', 1.5 * 2 ** 30],
  ])('%s', (q, n) => expect(parseQuantity(q)).toBeCloseTo(n));
  it.each(['', 'lots', '1 Gi', '-1', '0', '1Mb', 'Mi'])('rejects %j', (q) => expect(parseQuantity(q)).toBeUndefined());
});
