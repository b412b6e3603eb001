import { readFileSync } from 'node:fs';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Pod } from 'kubernetes-models/v1/Pod';
import { parseAllDocuments } from 'yaml';
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
