import { posix } from 'node:path';
import type { Container, EnvVar, Volume, VolumeMount } from './types.js';

/**
 * The one definition of the guardrail-pdp sidecar's pod spec. `guardrail-pdp inject`, the
 * admission webhook (`guardrail-pdp injector`) and the test of deploy/base/deployment.yaml all
 * build it here, so what is injected and what deploy/base runs cannot drift apart.
 */

/** The sidecar container's name (and the one name a pod must not already use). */
export const SIDECAR_NAME = 'guardrail-pdp';
/** The variable every app container gets: where to call the decision API. */
export const ADDRESS_ENV = 'GUARDRAIL_PDP_ADDRESS';
/** The decision API's port on the pod's loopback, when a pod asks for TCP (serve's default --listen). */
export const LISTEN_PORT = 50051;
/** The admin HTTP port (probes, /metrics) and its name (serve's default --admin-listen). */
export const ADMIN_PORT = 9464;
export const ADMIN_PORT_NAME = 'pdp-metrics';
/** Where the bundle ConfigMap is mounted, and the key it must hold. */
export const BUNDLE_DIR = '/etc/guardrail-pdp';
export const BUNDLE_FILE = 'bundle.yaml';
export const BUNDLE_VOLUME = 'guardrail-pdp-bundle';
/** The shared directory of the Unix socket, in the sidecar and in every app container. */
export const SOCKET_DIR = '/var/run/guardrail-pdp';
export const SOCKET_FILE = 'pdp.sock';
export const SOCKET_VOLUME = 'guardrail-pdp-socket';
/**
 * The socket's mode: anyone may connect who can reach it, and only the pod's containers that mount
 * the socket's emptyDir can. The app containers run as their own users, not the sidecar's.
 */
export const SOCKET_MODE = '0666';
/** The image's numeric USER (Dockerfile), so the kubelet can verify runAsNonRoot. */
export const SIDECAR_UID = 65532;

/** Where the sidecar's policies come from. */
export type PolicySourceOption =
  /** A ConfigMap holding `bundle.yaml`, mounted as a directory so that edits hot-reload. */
  | { readonly kind: 'bundle'; readonly configMap: string }
  /** A SQLite db at `path`, on a volume the pod already has (a producer writes it there). */
  | { readonly kind: 'db'; readonly path: string; readonly volume: string };

export interface SidecarResources {
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
}

/** Everything that may differ between two injected sidecars. */
export interface SidecarOptions {
  readonly image: string;
  readonly source: PolicySourceOption;
  /**
   * The decision API on a Unix socket in an emptyDir the app containers mount (the default:
   * faster than loopback TCP, docs/performance.md, and reachable only by them), or on the pod's
   * loopback (TCP), which every container of the pod can reach.
   */
  readonly listen: 'tcp' | 'unix';
  readonly resources: SidecarResources;
  /**
   * A native sidecar (an init container with `restartPolicy: Always`, Kubernetes 1.29+): it starts
   * before the app containers and stops after them. Otherwise a classic sidecar: one more
   * container, started and stopped with the others.
   */
  readonly native: boolean;
}

/** The defaults: those of deploy/base. Only the image has none. */
export const DEFAULT_SIDECAR: Omit<SidecarOptions, 'image'> = Object.freeze({
  source: Object.freeze({ kind: 'bundle', configMap: 'guardrail-pdp-bundle' }),
  listen: 'unix',
  // Near the measured footprint (deploy/README.md, Resources); no CPU limit, because throttling
  // the sidecar would land on the gateway's request latency.
  resources: Object.freeze({ cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '256Mi' }),
  native: true,
});

/** What injecting the sidecar adds to a pod. */
export interface SidecarSpec {
  /** The sidecar: appended to `initContainers` when native, to `containers` when classic. */
  readonly container: Container;
  readonly placement: 'initContainers' | 'containers';
  /** Pod volumes to add. */
  readonly volumes: readonly Volume[];
  /** Variables every app container gets. */
  readonly appEnv: readonly EnvVar[];
  /** Mounts every app container gets (the socket directory). */
  readonly appVolumeMounts: readonly VolumeMount[];
}

/** The address the app containers dial. */
export function sidecarAddress(listen: SidecarOptions['listen']): string {
  return listen === 'unix' ? `unix://${posix.join(SOCKET_DIR, SOCKET_FILE)}` : `127.0.0.1:${LISTEN_PORT}`;
}

/** Builds the sidecar container, the volumes and the app containers' env and mounts. */
export function sidecarSpec(options: SidecarOptions): SidecarSpec {
  const address = sidecarAddress(options.listen);
  const { source } = options;
  const mounts: VolumeMount[] = [];
  const volumes: Volume[] = [];
  const appVolumeMounts: VolumeMount[] = [];
  if (source.kind === 'bundle') {
    // The whole directory, never a subPath: the kubelet updates a ConfigMap volume by swapping its
    // ..data symlink, which a subPath mount never sees.
    mounts.push({ name: BUNDLE_VOLUME, mountPath: BUNDLE_DIR, readOnly: true });
    volumes.push({ name: BUNDLE_VOLUME, configMap: { name: source.configMap } });
  } else {
    // The sidecar only reads the db (opened read-only); the pod's producer writes the volume.
    mounts.push({ name: source.volume, mountPath: posix.dirname(source.path), readOnly: true });
  }
  if (options.listen === 'unix') {
    const socketMount = { name: SOCKET_VOLUME, mountPath: SOCKET_DIR };
    mounts.push({ ...socketMount });
    appVolumeMounts.push({ ...socketMount });
    volumes.push({ name: SOCKET_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
  }
  const container: Container = {
    name: SIDECAR_NAME,
    image: options.image,
    ...(options.native ? { restartPolicy: 'Always' } : {}),
    // Only the command: every setting comes from the PDP_* variables (a flag would win over its
    // variable, so the image's default `--bundle` must not be passed).
    args: ['serve'],
    env: [
      source.kind === 'bundle'
        ? { name: 'PDP_BUNDLE', value: posix.join(BUNDLE_DIR, BUNDLE_FILE) }
        : { name: 'PDP_DB', value: source.path },
      { name: 'PDP_LISTEN', value: address },
      ...(options.listen === 'unix' ? [{ name: 'PDP_SOCKET_MODE', value: SOCKET_MODE }] : []),
      { name: 'PDP_ADMIN_LISTEN', value: `0.0.0.0:${ADMIN_PORT}` },
      { name: 'PDP_MODE', value: 'strict' },
      { name: 'PDP_LOG_LEVEL', value: 'info' },
      { name: 'PDP_SHUTDOWN_GRACE_MS', value: '10000' },
    ],
    ports: [{ name: ADMIN_PORT_NAME, containerPort: ADMIN_PORT }],
    // Startup and readiness: a policy snapshot is active (a bad reload never turns /readyz off).
    // Startup allows 60 s for the first load. Liveness is generous: activating a large bundle
    // keeps the event loop busy for a second or two.
    startupProbe: { httpGet: { path: '/readyz', port: ADMIN_PORT_NAME }, periodSeconds: 2, failureThreshold: 30 },
    readinessProbe: { httpGet: { path: '/readyz', port: ADMIN_PORT_NAME }, periodSeconds: 5, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: '/healthz', port: ADMIN_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    resources: {
      requests: { cpu: options.resources.cpuRequest, memory: options.resources.memoryRequest },
      limits: { memory: options.resources.memoryLimit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: mounts,
  };
  return {
    container,
    placement: options.native ? 'initContainers' : 'containers',
    volumes,
    appEnv: [{ name: ADDRESS_ENV, value: address }],
    appVolumeMounts,
  };
}
