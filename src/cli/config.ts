import type { LevelWithSilent } from 'pino';
import type { AppConfig } from '../app.js';
import { PdpError } from '../errors.js';
import type { ValidationMode } from '../model/policy.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../server/admission/call-limiter.js';
import { DEFAULT_SOCKET_MODE, listenRefusal, parseListenAddress, parseSocketMode } from '../server/listen-address.js';
import { readTlsFiles, type TlsMaterial } from '../server/tls.js';

/** Defaults for `serve`. The decision API stays on loopback unless told otherwise. */
export const DEFAULTS = Object.freeze({
  listen: '127.0.0.1:50051',
  adminListen: '0.0.0.0:9464',
  mode: 'strict' as ValidationMode,
  logLevel: 'info' as LevelWithSilent,
  shutdownGraceMs: 10_000,
  debounceMs: 250,
  decisionLogSampleRate: 0,
  maxInFlight: DEFAULT_MAX_IN_FLIGHT,
  loaderHeapMb: 96,
});

/** One `serve` option: a flag and a PDP_* variable (flags win), its meaning and default for --help. */
export interface ServeOption {
  readonly flag: string;
  /** The value's placeholder in --help (FILE, MS...); absent for a boolean flag. */
  readonly value?: string;
  readonly env: string;
  readonly help: string;
  /** Shown in --help; absent when there is none. */
  readonly default?: string;
  /** A flag without a value (`--insecure-listen`); its variable takes true/false/1/0. */
  readonly isBoolean?: boolean;
}

/** Options of `serve`, each a flag and a PDP_* variable; flags win. */
export const SERVE_OPTIONS = Object.freeze([
  { flag: 'bundle', value: 'FILE', env: 'PDP_BUNDLE', help: 'Bundle file (YAML or JSON: guardrails, policies, policy_attachments), watched for changes. Give this or --db.' },
  { flag: 'db', value: 'FILE.db', env: 'PDP_DB', help: "SQLite db with LiteLLM's policy tables (see 'compile'), reloaded when replaced. Give this or --bundle." },
  { flag: 'mode', value: 'MODE', env: 'PDP_MODE', help: 'strict (reject LiteLLM validation errors) or compat (load what LiteLLM would).', default: DEFAULTS.mode },
  { flag: 'listen', value: 'ADDR', env: 'PDP_LISTEN', help: 'Decision API address: host:port, [v6]:port or unix:///path. A non-loopback address needs TLS or --insecure-listen.', default: DEFAULTS.listen },
  { flag: 'socket-mode', value: 'MODE', env: 'PDP_SOCKET_MODE', help: 'File mode of a unix:// --listen socket, in octal: who may connect (connecting needs write permission). 0660 lets the owner and its group; 0666 anyone who can reach the directory.', default: `0${DEFAULT_SOCKET_MODE.toString(8)}` },
  { flag: 'admin-listen', value: 'ADDR', env: 'PDP_ADMIN_LISTEN', help: 'Admin HTTP (/metrics, /healthz, /readyz) host:port, on the pod IP for the kubelet and Prometheus.', default: DEFAULTS.adminListen },
  { flag: 'log-level', value: 'LEVEL', env: 'PDP_LOG_LEVEL', help: 'fatal, error, warn, info, debug, trace or silent.', default: DEFAULTS.logLevel },
  { flag: 'shutdown-grace-ms', value: 'MS', env: 'PDP_SHUTDOWN_GRACE_MS', help: 'On SIGTERM/SIGINT, time for calls in flight to finish before they are cancelled (0..600000).', default: String(DEFAULTS.shutdownGraceMs) },
  { flag: 'debounce-ms', value: 'MS', env: 'PDP_DEBOUNCE_MS', help: 'Quiet period after a bundle or db change before reloading (0..60000).', default: String(DEFAULTS.debounceMs) },
  { flag: 'decision-log-sample-rate', value: 'RATE', env: 'PDP_DECISION_LOG_SAMPLE_RATE', help: 'Fraction of decisions logged as one JSON line each (0..1; 0 is off). Identifiers only, never prompt text.', default: String(DEFAULTS.decisionLogSampleRate) },
  { flag: 'max-in-flight', value: 'N', env: 'PDP_MAX_IN_FLIGHT', help: 'Cap on calls in flight plus open Watch streams; beyond it calls fail fast with RESOURCE_EXHAUSTED (1..1000000).', default: String(DEFAULTS.maxInFlight) },
  { flag: 'tls-cert', value: 'FILE', env: 'PDP_TLS_CERT', help: 'PEM certificate (chain) for the decision API. Give with --tls-key.' },
  { flag: 'tls-key', value: 'FILE', env: 'PDP_TLS_KEY', help: 'PEM private key of --tls-cert.' },
  { flag: 'tls-client-ca', value: 'FILE', env: 'PDP_TLS_CLIENT_CA', help: 'PEM CA bundle: clients must present a certificate it signed (mTLS). Needs --tls-cert.' },
  { flag: 'insecure-listen', env: 'PDP_INSECURE_LISTEN', help: 'Allow a plaintext decision API on a non-loopback --listen address.', default: 'false', isBoolean: true },
  { flag: 'loader-heap-mb', value: 'MB', env: 'PDP_LOADER_HEAP_MB', help: 'Heap a loader thread may use to read and parse the bundle or db (16..65536); a larger load fails and the last good snapshot keeps serving. Raise it with the memory limit.', default: String(DEFAULTS.loaderHeapMb) },
  { flag: 'allow-shrink', env: 'PDP_ALLOW_SHRINK', help: 'Activate reloads that drop more than half of the served policies and attachments (refused by default once 10 are served).', default: 'false', isBoolean: true },
  { flag: 'require-executable', env: 'PDP_REQUIRE_EXECUTABLE', help: 'Refuse a bundle with a guardrail the sidecar cannot execute (an unknown kind, or a setting it does not run) instead of warning.', default: 'false', isBoolean: true },
  { flag: 'content-filter-categories', value: 'DIR', env: 'PDP_CONTENT_FILTER_CATEGORIES', help: "LiteLLM's content filter categories directory (.../litellm_content_filter/categories), for built-in category names." },
] as const satisfies readonly ServeOption[]);

type Flag = (typeof SERVE_OPTIONS)[number]['flag'];
/** Flag values as parseArgs returns them. */
export type ServeFlags = Partial<Record<Flag, string | boolean>>;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Parses a validation mode, or reports why not. */
export function parseMode(value: string | undefined, problems: string[]): ValidationMode {
  if (value === undefined) return DEFAULTS.mode;
  if (value === 'strict' || value === 'compat') return value;
  problems.push(`--mode: '${value}' is not a mode; use strict or compat`);
  return DEFAULTS.mode;
}

/**
 * Builds the serve config from flags and PDP_* environment variables, once. Every bad value is
 * reported together in one INVALID_CONFIG error; TLS files are read and checked here.
 */
export function loadServeConfig(flags: ServeFlags, env: Readonly<Record<string, string | undefined>>): AppConfig {
  const raw: Partial<Record<Flag, string>> = {};
  for (const o of SERVE_OPTIONS) {
    const v = flags[o.flag] ?? env[o.env];
    if (v !== undefined && v !== '') raw[o.flag] = String(v);
  }
  const problems: string[] = [];
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (e) {
      problems.push((e as Error).message);
      return fallback;
    }
  };
  if ((raw.bundle === undefined) === (raw.db === undefined))
    problems.push('give exactly one of --bundle (PDP_BUNDLE) or --db (PDP_DB): where the policies come from');
  const mode = parseMode(raw.mode, problems);
  const parsedListen = attempt(() => parseListenAddress(raw.listen ?? DEFAULTS.listen, '--listen'), undefined);
  const socketMode = raw['socket-mode'] === undefined ? undefined : attempt(() => parseSocketMode(raw['socket-mode'] as string, '--socket-mode'), undefined);
  if (socketMode !== undefined && parsedListen?.kind === 'tcp') problems.push('--socket-mode: only with a unix:// --listen address');
  const listen = parsedListen?.kind === 'unix' && socketMode !== undefined ? { ...parsedListen, mode: socketMode } : parsedListen;
  const admin = attempt(() => parseListenAddress(raw['admin-listen'] ?? DEFAULTS.adminListen, '--admin-listen'), undefined);
  if (admin?.kind === 'unix') problems.push('--admin-listen: must be host:port (the kubelet and Prometheus connect over TCP)');
  const logLevel = raw['log-level'] ?? DEFAULTS.logLevel;
  if (!LEVELS.has(logLevel)) problems.push(`--log-level: '${logLevel}' is not a level; use ${[...LEVELS].join(', ')}`);
  const shutdownGraceMs = parseNumber(raw['shutdown-grace-ms'], 'shutdown-grace-ms', DEFAULTS.shutdownGraceMs, 0, 600_000, true, problems);
  const debounceMs = parseNumber(raw['debounce-ms'], 'debounce-ms', DEFAULTS.debounceMs, 0, 60_000, true, problems);
  const decisionLogSampleRate = parseNumber(raw['decision-log-sample-rate'], 'decision-log-sample-rate', 0, 0, 1, false, problems);
  const maxInFlight = parseNumber(raw['max-in-flight'], 'max-in-flight', DEFAULTS.maxInFlight, 1, 1_000_000, true, problems);
  const loaderHeapMb = parseNumber(raw['loader-heap-mb'], 'loader-heap-mb', DEFAULTS.loaderHeapMb, 16, 65_536, true, problems);
  const isInsecureListenAllowed = parseBoolean(raw['insecure-listen'], 'insecure-listen', problems);
  const allowShrink = parseBoolean(raw['allow-shrink'], 'allow-shrink', problems);
  const requireExecutable = parseBoolean(raw['require-executable'], 'require-executable', problems);
  const tls = loadTls(raw, problems);
  const hasTls = raw['tls-cert'] !== undefined && raw['tls-key'] !== undefined;
  const refusal = listen === undefined ? undefined : listenRefusal(listen, hasTls, isInsecureListenAllowed);
  if (refusal !== undefined) problems.push(refusal);

  if (problems.length > 0 || listen === undefined || admin === undefined || admin.kind !== 'tcp')
    throw new PdpError('INVALID_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`);
  return {
    source: raw.db !== undefined ? { kind: 'db', path: raw.db } : { kind: 'bundle', path: raw.bundle as string },
    mode,
    listen,
    adminListen: { host: admin.host, port: admin.port },
    logLevel: logLevel as LevelWithSilent,
    shutdownGraceMs,
    debounceMs,
    decisionLogSampleRate,
    maxInFlight,
    loaderHeapMb,
    isInsecureListenAllowed,
    allowShrink,
    requireExecutable,
    ...(raw['content-filter-categories'] === undefined ? {} : { contentFilterCategoriesDir: raw['content-filter-categories'] }),
    lookupEnv: envLookup(env),
    ...(tls === undefined ? {} : { tls }),
  };
}

/** The environment as guardrails' `os.environ/NAME` values read it: the one place it is handed down. */
export function envLookup(env: Readonly<Record<string, string | undefined>>): (name: string) => string | undefined {
  return (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
}

function parseNumber(
  value: string | undefined,
  flag: Flag,
  fallback: number,
  min: number,
  max: number,
  isInteger: boolean,
  problems: string[],
): number {
  if (value === undefined) return fallback;
  const n = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value) ? Number(value) : NaN;
  if (Number.isFinite(n) && (!isInteger || Number.isInteger(n)) && n >= min && n <= max) return n;
  problems.push(`--${flag}: '${value}' is not ${isInteger ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  return fallback;
}

function parseBoolean(value: string | undefined, flag: Flag, problems: string[]): boolean {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  problems.push(`--${flag}: '${value}' is not a boolean; use true, false, 1 or 0`);
  return false;
}

function loadTls(raw: Partial<Record<Flag, string>>, problems: string[]): TlsMaterial | undefined {
  const { 'tls-cert': certPath, 'tls-key': keyPath, 'tls-client-ca': clientCaPath } = raw;
  if (certPath === undefined && keyPath === undefined) {
    if (clientCaPath !== undefined) problems.push('--tls-client-ca: needs --tls-cert and --tls-key (mTLS is TLS with client certificates)');
    return undefined;
  }
  if (certPath === undefined || keyPath === undefined) {
    problems.push('--tls-cert and --tls-key: give both or neither');
    return undefined;
  }
  const read = readTlsFiles(clientCaPath === undefined ? { certPath, keyPath } : { certPath, keyPath, clientCaPath });
  problems.push(...read.problems);
  return read.material;
}
