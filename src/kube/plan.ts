import { isSelected, parseOverrides, PREFIX, STATUS_ANNOTATION, STATUS_INJECTED } from './annotations.js';
import {
  ADDRESS_ENV,
  ADMIN_PORT,
  ADMIN_PORT_NAME,
  LISTEN_PORT,
  SIDECAR_NAME,
  SOCKET_VOLUME,
  sidecarSpec,
  type SidecarOptions,
} from './sidecar.js';
import { pointer, type Container, type EnvVar, type PatchOp, type PodSpec, type PodTemplate, type VolumeMount } from './types.js';

/** What the command was started with: the sidecar's defaults, and whether unmarked templates count. */
export interface InjectSettings {
  readonly defaults: SidecarOptions;
  /** Inject templates that say nothing (no guardrail-pdp.dev/inject label or annotation). */
  readonly all: boolean;
}

/** Why a pod template was left as it was, without a problem. */
export type SkipReason = 'not_selected' | 'already_injected';

/** What injection does to one pod template. */
export type Plan =
  | { readonly action: 'skip'; readonly why: SkipReason }
  /**
   * Patch the template. `completed` is true when the sidecar was already there and only app
   * containers added since (by another webhook, say) get its address.
   */
  | { readonly action: 'inject'; readonly ops: readonly PatchOp[]; readonly completed: boolean }
  /** Selected, but the sidecar cannot be added; every reason, for a warning or an error. */
  | { readonly action: 'refuse'; readonly reasons: readonly string[] };

/**
 * Plans the injection into one pod (or pod template) as JSON Patch operations on it (paths from
 * its root: /metadata, /spec). Never throws on a malformed template: it refuses with the reason.
 *
 * Idempotent: on a template this has injected, the plan is a skip, or (when app containers were
 * added since) only the variables and mounts those containers lack.
 */
export function planInjection(template: PodTemplate, settings: InjectSettings): Plan {
  const meta = template.metadata;
  if (meta != null && !isPlainObject(meta)) return refuse(['metadata is not a map']);
  const malformed = nonStringValues(meta);
  if (malformed.length > 0) return refuse(malformed);
  const selected = isSelected(sanitizeMeta(meta), settings.all);
  if (typeof selected === 'string') return refuse([selected]);
  if (!selected) return { action: 'skip', why: 'not_selected' };

  const spec = template.spec;
  const shapeProblem = checkShape(spec);
  if (shapeProblem !== undefined) return refuse([shapeProblem]);
  const pod = spec as PodSpec;

  const existing = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === SIDECAR_NAME);
  if (existing !== undefined && meta?.annotations?.[STATUS_ANNOTATION] === STATUS_INJECTED) {
    // Injected before: give its address to app containers that lack it, nothing else.
    const address = existing.env?.find((e) => e.name === 'PDP_LISTEN')?.value ?? `127.0.0.1:${LISTEN_PORT}`;
    const mounts = (existing.volumeMounts ?? []).filter((m) => m.name === SOCKET_VOLUME).map(({ readOnly: _, ...m }) => m);
    const ops: PatchOp[] = [];
    const reasons = appContainerOps(pod, [{ name: ADDRESS_ENV, value: address }], mounts, ops);
    if (reasons.length > 0) return refuse(reasons);
    return ops.length === 0 ? { action: 'skip', why: 'already_injected' } : { action: 'inject', ops, completed: true };
  }

  const overrides = parseOverrides(meta?.annotations, settings.defaults);
  if (overrides.options === undefined) return refuse(overrides.problems);
  const options = overrides.options;
  const sidecar = sidecarSpec(options);
  const reasons = clashes(pod, options, existing);
  const ops: PatchOp[] = [];
  reasons.push(...appContainerOps(pod, sidecar.appEnv, sidecar.appVolumeMounts, ops));
  if (reasons.length > 0) return refuse(reasons);

  ops.push(...appendOps(['spec', sidecar.placement], pod[sidecar.placement], [sidecar.container]));
  if (sidecar.volumes.length > 0) ops.push(...appendOps(['spec', 'volumes'], pod.volumes, sidecar.volumes));
  // A null map or list (`annotations:` with nothing after it) counts as absent, as for the API server.
  if (meta == null) ops.push({ op: 'add', path: '/metadata', value: { annotations: { [STATUS_ANNOTATION]: STATUS_INJECTED } } });
  else if (meta.annotations == null) ops.push({ op: 'add', path: '/metadata/annotations', value: { [STATUS_ANNOTATION]: STATUS_INJECTED } });
  else ops.push({ op: 'add', path: pointer(['metadata', 'annotations', STATUS_ANNOTATION]), value: STATUS_INJECTED });
  return { action: 'inject', ops, completed: false };
}

function refuse(reasons: readonly string[]): Plan {
  return { action: 'refuse', reasons };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Labels and annotations as string maps (a malformed map counts as absent; its own check reports it). */
function sanitizeMeta(meta: PodTemplate['metadata']): { labels?: Record<string, string>; annotations?: Record<string, string> } {
  const strings = (m: unknown): Record<string, string> | undefined =>
    isPlainObject(m) ? (Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : undefined;
  const labels = strings(meta?.labels);
  const annotations = strings(meta?.annotations);
  return { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
}

/** The template's shape problem, if any: what the API server would refuse anyway. */
function checkShape(spec: unknown): string | undefined {
  if (!isPlainObject(spec)) return 'the pod template has no spec';
  const lists = ['containers', 'initContainers', 'ephemeralContainers', 'volumes'] as const;
  for (const key of lists) {
    const list = spec[key];
    if (list == null && key !== 'containers') continue;
    if (!Array.isArray(list) || !list.every((c) => isPlainObject(c) && typeof c.name === 'string'))
      return `spec.${key} is not a list of named ${key === 'volumes' ? 'volumes' : 'containers'}`;
    if (key === 'volumes') continue;
    for (const c of list as Record<string, unknown>[]) {
      for (const field of ['env', 'volumeMounts', 'ports'] as const) {
        if (c[field] != null && (!Array.isArray(c[field]) || !(c[field] as unknown[]).every(isPlainObject)))
          return `container "${String(c.name)}": ${field} is not a list`;
      }
    }
  }
  if ((spec.containers as unknown[]).length === 0) return 'the pod has no containers';
  return undefined;
}

/** Our labels and annotations whose values are not strings (`inject: true` unquoted in YAML is a boolean). */
function nonStringValues(meta: PodTemplate['metadata']): string[] {
  const out: string[] = [];
  for (const [what, map] of [['label', meta?.labels], ['annotation', meta?.annotations]] as const) {
    if (map == null) continue;
    if (!isPlainObject(map)) {
      out.push(`metadata.${what}s is not a map`);
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      if (key.startsWith(PREFIX) && typeof value !== 'string') out.push(`${what} ${key}: ${JSON.stringify(value)} is not a string (quote it)`);
    }
  }
  return out;
}

/** Why the sidecar cannot join this pod (names, ports, volumes, settings that rule it out). */
function clashes(pod: PodSpec, options: SidecarOptions, existing: Container | undefined): string[] {
  const reasons: string[] = [];
  if (existing !== undefined) reasons.push(`a container named "${SIDECAR_NAME}" already exists (not injected)`);
  if (pod.ephemeralContainers?.some((c) => c.name === SIDECAR_NAME)) reasons.push(`an ephemeral container is named "${SIDECAR_NAME}"`);
  const spec = sidecarSpec(options);
  for (const v of spec.volumes) {
    if (pod.volumes?.some((x) => x.name === v.name)) reasons.push(`a volume named "${v.name}" already exists`);
  }
  if (options.source.kind === 'db') {
    const volume = options.source.volume;
    if (!pod.volumes?.some((x) => x.name === volume)) reasons.push(`the db volume "${volume}" is not a volume of the pod`);
  }
  const ports: number[] = [ADMIN_PORT, ...(options.listen === 'tcp' ? [LISTEN_PORT] : [])];
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    for (const p of c.ports ?? []) {
      if (ports.includes(p.containerPort)) reasons.push(`container "${c.name}" already uses port ${p.containerPort}`);
      if (p.name === ADMIN_PORT_NAME) reasons.push(`container "${c.name}" already has a port named "${ADMIN_PORT_NAME}"`);
    }
  }
  if (pod.hostNetwork === true) reasons.push("the pod uses hostNetwork: the sidecar's ports would be the node's");
  if (!options.native && (pod.restartPolicy === 'Never' || pod.restartPolicy === 'OnFailure'))
    reasons.push(`a classic sidecar never exits, so this pod (restartPolicy ${pod.restartPolicy}) would never complete; use native sidecars`);
  return reasons;
}

/**
 * Adds to `ops` the variables and mounts each app container lacks; returns the conflicts (a
 * container that sets the variable to another address, or mounts something else at the path).
 */
function appContainerOps(pod: PodSpec, env: readonly EnvVar[], mounts: readonly VolumeMount[], ops: PatchOp[]): string[] {
  const reasons: string[] = [];
  pod.containers.forEach((c, i) => {
    if (c.name === SIDECAR_NAME) return;
    const base = ['spec', 'containers', i];
    const missingEnv = env.filter((e) => {
      const found = c.env?.find((x) => x.name === e.name);
      if (found === undefined) return true;
      if (found.value !== e.value || found.valueFrom !== undefined)
        reasons.push(`container "${c.name}" sets ${e.name} to ${found.valueFrom !== undefined ? 'a reference' : JSON.stringify(found.value ?? '')}, not ${e.value}`);
      return false;
    });
    const missingMounts = mounts.filter((m) => {
      const atPath = c.volumeMounts?.find((x) => x.mountPath === m.mountPath);
      const byName = c.volumeMounts?.find((x) => x.name === m.name);
      if (atPath === undefined && byName === undefined) return true;
      if (atPath?.name !== m.name || byName?.mountPath !== m.mountPath)
        reasons.push(`container "${c.name}" mounts something else at ${m.mountPath} or "${m.name}" elsewhere`);
      return false;
    });
    ops.push(...appendOps([...base, 'env'], c.env, missingEnv));
    ops.push(...appendOps([...base, 'volumeMounts'], c.volumeMounts, missingMounts));
  });
  return reasons;
}

/** Operations appending `items` to the list at `path`: one `add` of the list when it is absent. */
function appendOps(path: readonly (string | number)[], list: readonly unknown[] | null | undefined, items: readonly unknown[]): PatchOp[] {
  if (items.length === 0) return [];
  if (list == null) return [{ op: 'add', path: pointer(path), value: [...items] }];
  return items.map((value) => ({ op: 'add', path: pointer([...path, '-']), value }));
}
