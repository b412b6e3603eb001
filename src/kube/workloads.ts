/** A pod template inside a manifest: where it is, and which object holds it (for messages). */
export interface TemplateLocation {
  /** Path segments from the document's root to the template (empty for a Pod: the pod itself). */
  readonly path: readonly (string | number)[];
  /** `deployment/llm-gateway`, `cronjob/nightly`, as kubectl names objects. */
  readonly name: string;
}

/** The kinds whose pod template `inject` patches, by API group, and where the template is. */
const WORKLOADS: Readonly<Record<string, { readonly groups: readonly string[]; readonly template: readonly string[] }>> = {
  Pod: { groups: ['v1'], template: [] },
  Deployment: { groups: ['apps/v1'], template: ['spec', 'template'] },
  StatefulSet: { groups: ['apps/v1'], template: ['spec', 'template'] },
  DaemonSet: { groups: ['apps/v1'], template: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps/v1'], template: ['spec', 'template'] },
  Job: { groups: ['batch/v1'], template: ['spec', 'template'] },
  CronJob: { groups: ['batch/v1', 'batch/v1beta1'], template: ['spec', 'jobTemplate', 'spec', 'template'] },
};

/** The workload kinds, for usage texts and docs. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(WORKLOADS);

/**
 * The pod templates in one manifest object: none for other kinds, one for a workload, and those
 * of the items of a `v1 List` (what `kubectl get -o yaml` prints for several objects). A
 * workload without a template at its place has none (the API server would refuse it anyway).
 */
export function findTemplates(object: unknown, base: readonly (string | number)[] = []): TemplateLocation[] {
  if (!isMap(object)) return [];
  const { apiVersion, kind } = object;
  if (kind === 'List' && apiVersion === 'v1' && Array.isArray(object.items)) {
    return object.items.flatMap((item, i) => findTemplates(item, [...base, 'items', i]));
  }
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') return [];
  const workload = WORKLOADS[kind];
  if (workload === undefined || !workload.groups.includes(apiVersion)) return [];
  let node: unknown = object;
  for (const key of workload.template) node = isMap(node) ? node[key] : undefined;
  if (!isMap(node)) return [];
  const metadata = isMap(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '(unnamed)';
  return [{ path: [...base, ...workload.template], name: `${kind.toLowerCase()}/${name}` }];
}

/** The value at `path` below `root`. */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of path) node = isMap(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[key] : undefined;
  return node;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
