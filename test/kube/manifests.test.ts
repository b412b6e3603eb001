import { describe, expect, it } from 'vitest';
import { injectManifests, ManifestSyntaxError } from '../../src/kube/manifests.js';
import type { InjectSettings } from '../../src/kube/plan.js';
import { DEFAULT_SIDECAR, sidecarSpec } from '../../src/kube/sidecar.js';
import { findTemplates, valueAt } from '../../src/kube/workloads.js';
import { parseManifests, validateObject, WORKLOADS_TEXT, type K8s } from '../helpers/kube.js';

const SETTINGS: InjectSettings = { defaults: { ...DEFAULT_SIDECAR, image: 'registry.example.com/guardrail-pdp:0.1.0' }, all: false };

type Spec = { initContainers?: { name: string }[]; containers: { name: string; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[] };
const templateOf = (o: K8s) => {
  const [location] = findTemplates(o);
  return valueAt(o, location?.path ?? []) as { metadata?: { annotations?: Record<string, string> }; spec: Spec };
};
const sidecarOf = (o: K8s) => {
  const spec = templateOf(o).spec;
  return [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === 'guardrail-pdp');
};
const byName = (objects: K8s[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));

describe('injectManifests over test/fixtures/kube/workloads.yaml', () => {
  const result = injectManifests(WORKLOADS_TEXT, SETTINGS);
  const before = byName(parseManifests(WORKLOADS_TEXT));
  const after = byName(parseManifests(result.text));

  it('finds the template of every workload kind and injects those that ask for it', () => {
    expect(result.templates.map((t) => [t.template.replace(/ \(document \d+\)/, ''), t.plan.action])).toEqual([
      ['deployment/gateway', 'inject'],
      ['statefulset/gateway-sts', 'inject'],
      ['daemonset/gateway-ds', 'inject'],
      ['replicaset/gateway-rs', 'inject'],
      ['job/policy-check', 'inject'],
      ['cronjob/nightly-report', 'inject'],
      ['pod/gateway-db', 'inject'],
      ['deployment/not-selected', 'skip'],
      ['deployment/opted-out', 'skip'],
    ]);
  });

  it('writes objects that validate against the Kubernetes schemas', () => {
    for (const o of after.values()) if (findTemplates(o).length > 0) expect(() => validateObject(o), o.metadata.name).not.toThrow();
  });

  it('adds the sidecar src/kube/sidecar.ts builds, with each template’s annotations applied', () => {
    const defaults = SETTINGS.defaults;
    expect(sidecarOf(after.get('Deployment/gateway') as K8s)).toEqual(sidecarSpec(defaults).container);
    expect(sidecarOf(after.get('StatefulSet/gateway-sts') as K8s)).toEqual(sidecarSpec({ ...defaults, listen: 'tcp' }).container);
    expect(sidecarOf(after.get('DaemonSet/gateway-ds') as K8s)).toEqual(
      sidecarSpec({ ...defaults, image: 'registry.example.com/guardrail-pdp:0.2.0', resources: { cpuRequest: '250m', memoryRequest: '256Mi', memoryLimit: '1Gi' } }).container,
    );
    expect(sidecarOf(after.get('ReplicaSet/gateway-rs') as K8s)).toEqual(sidecarSpec({ ...defaults, source: { kind: 'bundle', configMap: 'team-a-policies' } }).container);
    expect(sidecarOf(after.get('Pod/gateway-db') as K8s)).toEqual(
      sidecarSpec({ ...defaults, source: { kind: 'db', path: '/var/lib/guardrail-pdp/policies.db', volume: 'policies-db' } }).container,
    );
    for (const name of ['Deployment/not-selected', 'Deployment/opted-out']) expect(after.get(name)).toEqual(before.get(name));
  });

  it('gives every app container the address, and the producer and log shipper too', () => {
    const sts = templateOf(after.get('StatefulSet/gateway-sts') as K8s).spec;
    for (const c of sts.containers) expect(c.env).toContainEqual({ name: 'GUARDRAIL_PDP_ADDRESS', value: '127.0.0.1:50051' });
    expect(sts.containers[0]?.env?.[0]).toEqual({ name: 'LOG_LEVEL', value: 'debug' });
    const deployment = templateOf(after.get('Deployment/gateway') as K8s).spec;
    for (const c of deployment.containers) {
      expect(c.env).toContainEqual({ name: 'GUARDRAIL_PDP_ADDRESS', value: 'unix:///var/run/guardrail-pdp/pdp.sock' });
      expect(c.volumeMounts).toContainEqual({ name: 'guardrail-pdp-socket', mountPath: '/var/run/guardrail-pdp' });
    }
  });

  it('appends the native sidecar after the init containers already there', () => {
    expect(templateOf(after.get('Job/policy-check') as K8s).spec.initContainers?.map((c) => c.name)).toEqual(['wait-for-config', 'guardrail-pdp']);
  });

  it('copies every document without a change byte for byte, comments included', () => {
    for (const marker of ['# Neither labelled nor annotated', '# Labelled, but the annotation opts it out', '# not a workload: left exactly as it is']) {
      const chunk = WORKLOADS_TEXT.slice(WORKLOADS_TEXT.indexOf(marker)).split('\n---')[0] as string;
      expect(result.text).toContain(chunk);
    }
    expect(result.text.endsWith(WORKLOADS_TEXT.slice(WORKLOADS_TEXT.lastIndexOf('---')))).toBe(true);
  });

  it('keeps comments, flow collections and the octal mode in the documents it changes', () => {
    expect(result.text).toContain('# One workload of each kind inject handles');
    expect(result.text).toContain('guardrail-pdp.dev/inject: "true" # the label the webhook selects on');
    expect(result.text).toContain('- name: gateway # LiteLLM');
    expect(result.text).toContain('configMap: {name: gateway-config, defaultMode: 0644}');
    expect(result.text).toContain('args: ["--port", "4000"]');
    const config = templateOf(after.get('Deployment/gateway') as K8s).spec as unknown as { volumes: { configMap?: { defaultMode?: number } }[] };
    expect(config.volumes[0]?.configMap?.defaultMode).toBe(0o644);
  });

  it('keeps the sequence indentation each document uses', () => {
    // The Deployment writes `- name` under its key; the StatefulSet indents its lists.
    expect(result.text).toMatch(/\n {6}initContainers:\n {6}- name: guardrail-pdp\n/);
    expect(result.text).toMatch(/\n {6}initContainers:\n {8}- name: guardrail-pdp\n/);
  });

  it('is idempotent: injecting the output again changes nothing', () => {
    const twice = injectManifests(result.text, SETTINGS);
    expect(twice.text).toBe(result.text);
    expect(twice.templates.filter((t) => t.plan.action === 'inject')).toEqual([]);
    const withAll = injectManifests(result.text, { ...SETTINGS, all: true });
    expect(injectManifests(withAll.text, { ...SETTINGS, all: true }).text).toBe(withAll.text);
  });

  it('with all, also injects templates that say nothing, but never one that opts out', () => {
    const all = byName(parseManifests(injectManifests(WORKLOADS_TEXT, { ...SETTINGS, all: true }).text));
    expect(sidecarOf(all.get('Deployment/not-selected') as K8s)).toBeDefined();
    expect(sidecarOf(all.get('Deployment/opted-out') as K8s)).toBeUndefined();
  });
});

describe('injectManifests', () => {
  const deployment = (name: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a, guardrail-pdp.dev/inject: "true"}}
    spec:
      containers: [{name: a, image: a${extra}}]
`;

  it('injects every item of a v1 List', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: parseManifests(deployment('gw-1') + '---\n' + deployment('gw-2')) };
    const out = injectManifests(JSON.stringify(list), SETTINGS);
    expect(out.templates.map((t) => t.template)).toEqual(['deployment/gw-1', 'deployment/gw-2']);
    const items = (parseManifests(out.text)[0] as unknown as { items: K8s[] }).items;
    for (const item of items) expect(sidecarOf(item)).toBeDefined();
  });

  it('leaves kinds it does not know and other API groups alone', () => {
    const text = deployment('x').replace('apps/v1', 'example.com/v1') + '---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n';
    const out = injectManifests(text, SETTINGS);
    expect(out.text).toBe(text);
    expect(out.templates).toEqual([]);
  });

  it('returns empty and comment-only input as it is', () => {
    for (const text of ['', '# nothing here\n', '---\n---\n']) expect(injectManifests(text, SETTINGS).text).toBe(text);
  });

  it('reports a template it cannot inject and changes nothing in it', () => {
    const text = deployment('x', '}, {name: guardrail-pdp, image: b');
    const out = injectManifests(text, SETTINGS);
    expect(out.templates[0]?.plan).toEqual({ action: 'refuse', reasons: ['a container named "guardrail-pdp" already exists (not injected)'] });
    expect(out.text).toBe(text);
  });

  it('throws on YAML errors with the line', () => {
    expect(() => injectManifests('a: [unclosed\n', SETTINGS)).toThrow(ManifestSyntaxError);
    expect(() => injectManifests('a: b\n  c: d\n', SETTINGS)).toThrow(/at line \d+, column \d+/);
  });

  it('refuses to edit through a YAML alias rather than change the anchored node too', () => {
    const text = `apiVersion: v1
kind: List
items:
- &d
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: x}
  spec:
    template:
      metadata: {labels: {guardrail-pdp.dev/inject: "true"}}
      spec: {containers: [{name: a}]}
- *d
`;
    expect(() => injectManifests(text, SETTINGS)).toThrow(/alias/);
  });
});
