import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reviewAdmission, type ReviewResult } from '../../src/kube/admission.js';
import { ANNOTATIONS, INJECT_KEY } from '../../src/kube/annotations.js';
import type { InjectSettings } from '../../src/kube/plan.js';
import { DEFAULT_SIDECAR, sidecarSpec } from '../../src/kube/sidecar.js';
import type { PodSpec } from '../../src/kube/types.js';
import { admissionReview, applyPatch, parseManifests, patchOf, podOf, validateObject, WORKLOADS_TEXT, type K8s } from '../helpers/kube.js';

const SETTINGS: InjectSettings = { defaults: { ...DEFAULT_SIDECAR, image: 'registry.example.com/guardrail-pdp:0.1.0' }, all: false };
const REAL_REVIEW = JSON.parse(readFileSync(new URL('../fixtures/kube/review-deployment-pod.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const WORKLOADS = parseManifests(WORKLOADS_TEXT).filter((o) => !['ConfigMap', 'Service'].includes(o.kind));

function answered(result: ReviewResult) {
  if (result.status !== 200) throw new Error(`expected 200, got ${result.status}: ${result.message}`);
  return result;
}
/** Reviews `pod`, applies the returned patch and returns the result (validated against the Pod schema). */
function admit(pod: K8s, settings = SETTINGS): { pod: K8s; result: ReturnType<typeof answered> } {
  const result = answered(reviewAdmission(admissionReview(pod), settings));
  expect(result.review.response.allowed).toBe(true);
  const patched = applyPatch(pod, patchOf(result.review.response));
  expect(() => validateObject(patched)).not.toThrow();
  return { pod: patched, result };
}
const specOf = (pod: K8s): PodSpec => pod.spec as PodSpec;
const withoutSelection = (pod: K8s): K8s => {
  const copy = structuredClone(pod) as K8s & { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  delete copy.metadata.labels?.[INJECT_KEY];
  delete copy.metadata.annotations?.[INJECT_KEY];
  return copy;
};

describe('reviewAdmission: a pod of each workload kind', () => {
  const selected = WORKLOADS.filter((w) => !['not-selected', 'opted-out'].includes(w.metadata.name as string));

  it.each(selected.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))('%s: injected, valid, and injecting again changes nothing', (_, workload) => {
    const pod = podOf(workload);
    const { pod: once, result } = admit(pod);
    expect(result.outcome).toEqual({ kind: 'injected', completed: false });
    expect(result.review.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
    const spec = specOf(once);
    expect(spec.initContainers?.filter((c) => c.name === 'guardrail-pdp')).toHaveLength(1);
    for (const c of spec.containers) expect(c.env?.map((e) => e.name)).toContain('GUARDRAIL_PDP_ADDRESS');
    // What was there before is still there, in place.
    expect(spec.containers.map((c) => c.name)).toEqual(specOf(pod).containers.map((c) => c.name));
    expect(spec.volumes?.slice(0, specOf(pod).volumes?.length)).toEqual(specOf(pod).volumes);

    const again = answered(reviewAdmission(admissionReview(once), SETTINGS));
    expect(again.outcome).toEqual({ kind: 'skipped', why: 'already_injected' });
    expect(again.review.response.patch).toBeUndefined();
  });

  it.each(selected.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))('%s without the label and annotation: admitted unchanged', (_, workload) => {
    const result = answered(reviewAdmission(admissionReview(withoutSelection(podOf(workload))), SETTINGS));
    expect(result.outcome).toEqual({ kind: 'skipped', why: 'not_selected' });
    expect(result.review.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });

  it('applies the annotations (socket, resources, image, bundle ConfigMap, db) as inject does', () => {
    const byName = new Map(WORKLOADS.map((w) => [w.metadata.name, w]));
    const sidecar = (name: string) => specOf(admit(podOf(byName.get(name) as K8s)).pod).initContainers?.find((c) => c.name === 'guardrail-pdp');
    const d = SETTINGS.defaults;
    expect(sidecar('gateway-sts')).toEqual(sidecarSpec({ ...d, listen: 'tcp' }).container);
    expect(sidecar('gateway-ds')).toEqual(
      sidecarSpec({ ...d, image: 'registry.example.com/guardrail-pdp:0.2.0', resources: { cpuRequest: '250m', memoryRequest: '256Mi', memoryLimit: '1Gi' } }).container,
    );
    expect(sidecar('gateway-rs')).toEqual(sidecarSpec({ ...d, source: { kind: 'bundle', configMap: 'team-a-policies' } }).container);
    expect(sidecar('gateway-db')).toEqual(sidecarSpec({ ...d, source: { kind: 'db', path: '/var/lib/guardrail-pdp/policies.db', volume: 'policies-db' } }).container);
  });

  it('injects with --all, except a pod that opts out', () => {
    const all = { ...SETTINGS, all: true };
    const [notSelected, optedOut] = ['not-selected', 'opted-out'].map((n) => podOf(WORKLOADS.find((w) => w.metadata.name === n) as K8s));
    expect(admit(notSelected as K8s, all).result.outcome.kind).toBe('injected');
    expect(answered(reviewAdmission(admissionReview(optedOut), all)).outcome).toEqual({ kind: 'skipped', why: 'not_selected' });
  });
});

describe('reviewAdmission: the API server’s own review of a Deployment’s pod', () => {
  it('is injected into a valid pod, and keeps the token mount, tolerations and probes', () => {
    const pod = (REAL_REVIEW.request as { object: K8s }).object;
    const result = answered(reviewAdmission(REAL_REVIEW, SETTINGS));
    expect(result.review.apiVersion).toBe('admission.k8s.io/v1');
    expect(result.pod).toBe('llm/llm-gateway-7d9c5b6f8-*');
    const patched = applyPatch(pod, patchOf(result.review.response));
    expect(() => validateObject(patched)).not.toThrow();
    const spec = specOf(patched);
    expect(spec.initContainers).toEqual([sidecarSpec(SETTINGS.defaults).container]);
    expect(spec.containers[0]).toEqual({
      ...specOf(pod).containers[0],
      env: [{ name: 'GUARDRAIL_PDP_ADDRESS', value: 'unix:///var/run/guardrail-pdp/pdp.sock' }],
      volumeMounts: [...(specOf(pod).containers[0]?.volumeMounts ?? []), { name: 'guardrail-pdp-socket', mountPath: '/var/run/guardrail-pdp' }],
    });
    expect((patched.metadata as { annotations: Record<string, string> }).annotations).toEqual({
      ...(pod.metadata as { annotations: Record<string, string> }).annotations,
      'guardrail-pdp.dev/status': 'injected',
    });
    expect(patched.spec).toMatchObject({ tolerations: (pod.spec as { tolerations: unknown }).tolerations });
  });
});

describe('reviewAdmission: pods that cannot be injected are admitted unchanged, with a warning naming the reason', () => {
  const base = podOf(WORKLOADS[0] as K8s);
  const variant = (edit: (pod: K8s & { spec: PodSpec; metadata: { annotations?: Record<string, string> } }) => void): K8s => {
    const copy = structuredClone(base) as K8s & { spec: PodSpec; metadata: { annotations?: Record<string, string> } };
    edit(copy);
    return copy;
  };
  it.each<[string, K8s, string]>([
    ['a container named like the sidecar', variant((p) => p.spec.containers.push({ name: 'guardrail-pdp', image: 'x' })), 'a container named "guardrail-pdp" already exists (not injected)'],
    ['an init container named like the sidecar', variant((p) => (p.spec.initContainers = [{ name: 'guardrail-pdp', image: 'x' }])), 'a container named "guardrail-pdp" already exists (not injected)'],
    ['a volume named like the sidecar’s', variant((p) => p.spec.volumes?.push({ name: 'guardrail-pdp-bundle', emptyDir: {} })), 'a volume named "guardrail-pdp-bundle" already exists'],
    ['a malformed annotation', variant((p) => (p.metadata.annotations = { [ANNOTATIONS.memoryLimit]: 'a lot' })), `annotation ${ANNOTATIONS.memoryLimit}: 'a lot' is not a memory quantity (e.g. 128Mi, 1Gi)`],
    ['an unknown annotation', variant((p) => (p.metadata.annotations = { 'guardrail-pdp.dev/cpu': '1' })), 'unknown annotation guardrail-pdp.dev/cpu'],
  ])('%s', (_, pod, reason) => {
    const result = answered(reviewAdmission(admissionReview(pod), SETTINGS));
    expect(result.outcome).toEqual({ kind: 'refused', reasons: [reason] });
    expect(result.review.response).toEqual({
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      allowed: true,
      warnings: [`guardrail-pdp sidecar not injected: ${reason}`],
    });
  });
});

describe('reviewAdmission: requests other than a pod CREATE', () => {
  it.each([
    ['an UPDATE', { operation: 'UPDATE' }],
    ['another kind', { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }],
    ['a subresource', { subResource: 'ephemeralcontainers' }],
  ])('%s is allowed unchanged', (_, request) => {
    const result = answered(reviewAdmission(admissionReview(podOf(WORKLOADS[0] as K8s), request), SETTINGS));
    expect(result.outcome).toEqual({ kind: 'skipped', why: 'not_pod_create' });
    expect(result.review.response.patch).toBeUndefined();
  });
});

describe('reviewAdmission: malformed reviews get 400 with what is wrong', () => {
  const review = admissionReview(podOf(WORKLOADS[0] as K8s));
  const request = review.request as Record<string, unknown>;
  it.each<[string, unknown, string]>([
    ['an array', [], 'the body is not a JSON object'],
    ['another kind', { ...review, kind: 'Pod' }, 'kind must be AdmissionReview, not "Pod"'],
    ['v1beta1', { ...review, apiVersion: 'admission.k8s.io/v1beta1' }, 'apiVersion must be admission.k8s.io/v1, not "admission.k8s.io/v1beta1" (set admissionReviewVersions: [v1])'],
    ['no request', { ...review, request: undefined }, 'request is missing or not an object'],
    ['no uid', { ...review, request: { ...request, uid: '' } }, 'request.uid is missing or empty'],
    ['no kind', { ...review, request: { ...request, kind: 'Pod' } }, 'request.kind is missing or not a GroupVersionKind'],
    ['no operation', { ...review, request: { ...request, operation: undefined } }, 'request.operation is missing'],
    ['no pod', { ...review, request: { ...request, object: null } }, 'request.object is missing or not a Pod'],
  ])('%s', (_, body, message) => {
    expect(reviewAdmission(body, SETTINGS)).toEqual({ status: 400, message: `not an AdmissionReview the injector can answer: ${message}` });
  });
});
