import { posix } from 'node:path';
import { DEFAULT_SIDECAR, type PolicySourceOption, type SidecarOptions } from './sidecar.js';

/**
 * The pod annotations (and the one label) that drive injection. A pod template's annotations
 * override the defaults the command was started with (its flags); `parseOverrides` checks every
 * value with the same checks the flags get.
 */
export const PREFIX = 'guardrail-pdp.dev/';

/** Label and annotation: "true" selects a pod template for injection, "false" opts it out. */
export const INJECT_KEY = `${PREFIX}inject`;
/** Set on every template the sidecar was added to: a second pass leaves the sidecar alone. */
export const STATUS_ANNOTATION = `${PREFIX}status`;
export const STATUS_INJECTED = 'injected';

export const ANNOTATIONS = Object.freeze({
  image: `${PREFIX}image`,
  bundleConfigMap: `${PREFIX}bundle-configmap`,
  db: `${PREFIX}db`,
  dbVolume: `${PREFIX}db-volume`,
  socket: `${PREFIX}socket`,
  cpuRequest: `${PREFIX}cpu-request`,
  memoryRequest: `${PREFIX}memory-request`,
  memoryLimit: `${PREFIX}memory-limit`,
});

/** The volume a db is read from when only guardrail-pdp.dev/db is given (deploy/overlays/sqlite's). */
export const DEFAULT_DB_VOLUME = 'policies-db';

const KNOWN = new Set<string>([INJECT_KEY, STATUS_ANNOTATION, ...Object.values(ANNOTATIONS)]);

/**
 * Whether a pod template asks for the sidecar: its `guardrail-pdp.dev/inject` annotation, else its
 * label of the same name, else `all`. Returns a problem for a value other than "true" or "false".
 */
export function isSelected(
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined,
  all: boolean,
): boolean | string {
  for (const [where, value] of [
    ['annotation', meta?.annotations?.[INJECT_KEY]],
    ['label', meta?.labels?.[INJECT_KEY]],
  ] as const) {
    if (value === undefined) continue;
    if (value === 'true' || value === 'false') return value === 'true';
    return `${where} ${INJECT_KEY}: ${JSON.stringify(value)} is not "true" or "false"`;
  }
  return all;
}

/**
 * The sidecar options for one pod template: `defaults`, overridden by its annotations. Returns
 * every problem with the annotations instead when there is one (an unknown guardrail-pdp.dev/
 * annotation is one: a typo must not be ignored).
 */
export function parseOverrides(
  annotations: Readonly<Record<string, string>> | undefined,
  defaults: SidecarOptions,
  /** How a problem names a setting: the annotation by default; the CLI passes its flags through here too. */
  nameOf: (key: string) => string = (key) => `annotation ${key}`,
): { options: SidecarOptions; problems: readonly [] } | { options?: undefined; problems: readonly string[] } {
  const a = annotations ?? {};
  const problems: string[] = [];
  for (const key of Object.keys(a)) {
    if (key.startsWith(PREFIX) && !KNOWN.has(key)) problems.push(`unknown ${nameOf(key)}`);
  }
  const get = (key: string, check: (value: string) => string | undefined): string | undefined => {
    const value = a[key];
    if (value === undefined) return undefined;
    const problem = check(value);
    if (problem !== undefined) problems.push(`${nameOf(key)}: ${problem}`);
    return problem === undefined ? value : undefined;
  };
  const image = get(ANNOTATIONS.image, checkImage) ?? defaults.image;
  const socket = get(ANNOTATIONS.socket, checkBoolean);
  const resources = {
    cpuRequest: get(ANNOTATIONS.cpuRequest, checkCpu) ?? defaults.resources.cpuRequest,
    memoryRequest: get(ANNOTATIONS.memoryRequest, checkMemory) ?? defaults.resources.memoryRequest,
    memoryLimit: get(ANNOTATIONS.memoryLimit, checkMemory) ?? defaults.resources.memoryLimit,
  };
  const limitProblem = checkMemoryLimit(resources.memoryRequest, resources.memoryLimit);
  if (limitProblem !== undefined) problems.push(limitProblem);

  const configMap = get(ANNOTATIONS.bundleConfigMap, checkConfigMapName);
  const dbPath = get(ANNOTATIONS.db, checkDbPath);
  const dbVolume = get(ANNOTATIONS.dbVolume, checkVolumeName);
  let source: PolicySourceOption = defaults.source;
  if (a[ANNOTATIONS.db] !== undefined && a[ANNOTATIONS.bundleConfigMap] !== undefined) {
    problems.push(`${nameOf(ANNOTATIONS.db)} and ${nameOf(ANNOTATIONS.bundleConfigMap)}: give one (a db or a bundle)`);
  } else if (dbPath !== undefined) {
    source = { kind: 'db', path: dbPath, volume: dbVolume ?? (defaults.source.kind === 'db' ? defaults.source.volume : DEFAULT_DB_VOLUME) };
  } else if (configMap !== undefined) {
    if (a[ANNOTATIONS.dbVolume] !== undefined) problems.push(`${nameOf(ANNOTATIONS.dbVolume)}: only with a db, not with ${nameOf(ANNOTATIONS.bundleConfigMap)}`);
    source = { kind: 'bundle', configMap };
  } else if (dbVolume !== undefined) {
    if (defaults.source.kind === 'db') source = { ...defaults.source, volume: dbVolume };
    else problems.push(`${nameOf(ANNOTATIONS.dbVolume)}: needs ${nameOf(ANNOTATIONS.db)} (the db's path)`);
  }
  if (problems.length > 0) return { problems };
  return {
    options: {
      image,
      source,
      listen: socket === undefined ? defaults.listen : socket === 'true' ? 'unix' : 'tcp',
      resources,
      native: defaults.native,
    },
    problems: [],
  };
}

/** The defaults of deploy/base with this image. */
export function defaultsWithImage(image: string): SidecarOptions {
  return { ...DEFAULT_SIDECAR, image };
}

// Checks, each returning the problem or undefined. The flags of `inject` and `injector` use them too.

export function checkImage(value: string): string | undefined {
  // A reference as `docker pull` takes it: [registry[:port]/]path[:tag][@digest], no spaces.
  return /^[a-z0-9][a-z0-9._\-/:@]*$/i.test(value) && value.length <= 512 ? undefined : `'${value}' is not an image reference`;
}

export function checkBoolean(value: string): string | undefined {
  return value === 'true' || value === 'false' ? undefined : `'${value}' is not "true" or "false"`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkConfigMapName(value: string): string | undefined {
  const ok = value.length <= 253 && value.split('.').every((part) => DNS_LABEL.test(part));
  return ok ? undefined : `'${value}' is not a ConfigMap name (lower-case letters, digits, '-' and '.')`;
}

export function checkVolumeName(value: string): string | undefined {
  return value.length <= 63 && DNS_LABEL.test(value) ? undefined : `'${value}' is not a volume name (a DNS label)`;
}

export function checkDbPath(value: string): string | undefined {
  const ok = value.startsWith('/') && posix.normalize(value) === value && posix.dirname(value) !== '/' && !value.endsWith('/');
  return ok ? undefined : `'${value}' is not an absolute, normalised file path in a directory below / (e.g. /var/lib/guardrail-pdp/policies.db)`;
}

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity ("100m", "128Mi", "1.5G", "2e9") as a number, or undefined. */
export function parseQuantity(value: string): number | undefined {
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([kMGTPE]i|[mkMGTPE])|[eE]([+-]?\d+))?$/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]) * (m[3] !== undefined ? 10 ** Number(m[3]) : (SUFFIX[m[2] ?? ''] ?? NaN));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function checkCpu(value: string): string | undefined {
  return parseQuantity(value) === undefined ? `'${value}' is not a CPU quantity (e.g. 100m, 0.5)` : undefined;
}

export function checkMemory(value: string): string | undefined {
  const n = parseQuantity(value);
  return n === undefined || n < 1 ? `'${value}' is not a memory quantity (e.g. 128Mi, 1Gi)` : undefined;
}

/** The memory limit must not be below the request (the API server refuses such a pod). */
export function checkMemoryLimit(request: string, limit: string): string | undefined {
  const r = parseQuantity(request);
  const l = parseQuantity(limit);
  return r !== undefined && l !== undefined && l < r ? `memory limit ${limit} is below the memory request ${request}` : undefined;
}
