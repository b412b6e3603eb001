import { readFileSync } from 'node:fs';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Pod } from 'kubernetes-models/v1/Pod';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { AdmissionResponse } from '../../src/kube/admission.js';
import type { PatchOp } from '../../src/kube/types.js';
import { findTemplates, valueAt } from '../../src/kube/workloads.js';
import { applyPatchOp } from '../deploy/kustomize.js';

/** test/fixtures/kube/workloads.yaml: one workload of each kind, plus objects inject must leave alone. */
export const WORKLOADS_FILE = new URL('../fixtures/kube/workloads.yaml', import.meta.url).pathname;
export const WORKLOADS_TEXT = readFileSync(WORKLOADS_FILE, 'utf8');

export type K8s = { apiVersion: string; kind: string; metadata: { name?: string; [k: string]: unknown }; [k: string]: unknown };

/** Every document of a YAML text, as Kubernetes reads it (YAML 1.1). */
export function parseManifests(text: string): K8s[] {
  return parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as K8s);
}

/**
 * Applies a JSON Patch to a copy of `doc`. No maintained JSON Patch library is installed, so this
 * uses the RFC 6902 subset of test/deploy/kustomize.ts (add, remove, replace, test), which, like
 * the API server, fails an `add` whose parent does not exist.
 */
export function applyPatch<T>(doc: T, ops: readonly PatchOp[]): T {
  const copy = structuredClone(doc);
  for (const op of ops) applyPatchOp(copy, op);
  return copy;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
};

/** Validates a workload or pod against the Kubernetes schemas (kubernetes-models); throws on a violation. */
export function validateObject(o: K8s): void {
  const Model = MODELS[o.kind];
  if (Model === undefined) throw new Error(`no schema for ${o.kind}`);
  new Model(o as never).validate();
}

/**
 * The pod a workload's controller creates from its template, as a mutating webhook receives it:
 * generateName, namespace and owner set, and the defaults and the service account token volume
 * the API server adds before calling webhooks.
 */
export function podOf(workload: K8s, namespace = 'team-a'): K8s {
  const [location] = findTemplates(workload);
  if (location === undefined) throw new Error(`${workload.kind} has no pod template`);
  const template = structuredClone(valueAt(workload, location.path)) as { metadata?: Record<string, unknown>; spec: Record<string, unknown> };
  const spec = template.spec;
  const token = { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
  const defaulted = (c: Record<string, unknown>) => ({
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
    resources: {},
    ...c,
    volumeMounts: [...((c.volumeMounts as unknown[]) ?? []), token],
  });
  const isPod = workload.kind === 'Pod';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(template.metadata ?? {}),
      ...(isPod ? { name: workload.metadata.name } : { generateName: `${workload.metadata.name}-` }),
      namespace,
      ...(isPod ? {} : { ownerReferences: [{ apiVersion: workload.apiVersion, kind: workload.kind, name: workload.metadata.name, uid: '6f1c9d1e-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }] }),
    },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      ...spec,
      ...(spec.initContainers ? { initContainers: (spec.initContainers as Record<string, unknown>[]).map(defaulted) } : {}),
      containers: (spec.containers as Record<string, unknown>[]).map(defaulted),
      volumes: [
        ...((spec.volumes as unknown[]) ?? []),
        { name: 'kube-api-access-x7k2p', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } },
      ],
    },
  };
}

/** The AdmissionReview the API server sends for creating `pod`. */
export function admissionReview(pod: unknown, request: Record<string, unknown> = {}): Record<string, unknown> {
  const meta = (pod as { metadata?: { namespace?: string; name?: string } }).metadata;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: meta?.name ?? '',
      namespace: meta?.namespace ?? 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...request,
    },
  };
}

/** The JSON Patch in an AdmissionReview response (empty when there is none). */
export function patchOf(response: AdmissionResponse): PatchOp[] {
  if (response.patch === undefined) return [];
  expect(response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOp[];
}
