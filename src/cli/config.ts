import type { LevelWithSilent } from 'pino';
import type { AppConfig } from '../app.js';
import { PdpError } from '../errors.js';
import type { ValidationMode } from '../model/policy.js';
import { parseListenAddress } from '../server/listen-address.js';

/** Defaults for `serve`. The decision API stays on loopback unless told otherwise. */
export const DEFAULTS = Object.freeze({
  listen: '127.0.0.1:50051',
  adminListen: '0.0.0.0:9464',
  mode: 'strict' as ValidationMode,
  logLevel: 'info' as LevelWithSilent,
  shutdownGraceMs: 10_000,
  debounceMs: 250,
});

/** Options of `serve`, each a flag and a PDP_* variable; flags win. */
export const SERVE_OPTIONS = Object.freeze([
  { flag: 'bundle', env: 'PDP_BUNDLE', help: 'Bundle file (YAML or JSON: guardrails, policies, policy_attachments), watched for changes. Give this or --db.' },
  { flag: 'db', env: 'PDP_DB', help: "SQLite db with LiteLLM's policy tables (see 'compile'), reloaded when replaced. Give this or --bundle." },
  { flag: 'mode', env: 'PDP_MODE', help: `strict (reject LiteLLM validation errors) or compat (load what LiteLLM would). Default ${DEFAULTS.mode}.` },
  { flag: 'listen', env: 'PDP_LISTEN', help: `Decision API address: host:port, [v6]:port or unix:///path. Default ${DEFAULTS.listen}.` },
  { flag: 'admin-listen', env: 'PDP_ADMIN_LISTEN', help: `Admin HTTP (/metrics, /healthz, /readyz) host:port. Default ${DEFAULTS.adminListen}.` },
  { flag: 'log-level', env: 'PDP_LOG_LEVEL', help: `fatal, error, warn, info, debug, trace or silent. Default ${DEFAULTS.logLevel}.` },
] as const);

type Raw = Partial<Record<(typeof SERVE_OPTIONS)[number]['flag'], string>>;

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
 * reported together in one INVALID_CONFIG error.
 */
export function loadServeConfig(flags: Raw, env: Readonly<Record<string, string | undefined>>): AppConfig {
  const raw: Raw = {};
  for (const o of SERVE_OPTIONS) {
    const v = flags[o.flag] ?? env[o.env];
    if (v !== undefined && v !== '') raw[o.flag] = v;
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
  const listen = attempt(() => parseListenAddress(raw.listen ?? DEFAULTS.listen, '--listen'), undefined);
  const admin = attempt(() => parseListenAddress(raw['admin-listen'] ?? DEFAULTS.adminListen, '--admin-listen'), undefined);
  if (admin?.kind === 'unix') problems.push('--admin-listen: must be host:port (the kubelet and Prometheus connect over TCP)');
  const logLevel = raw['log-level'] ?? DEFAULTS.logLevel;
  if (!LEVELS.has(logLevel)) problems.push(`--log-level: '${logLevel}' is not a level; use ${[...LEVELS].join(', ')}`);

  if (problems.length > 0 || listen === undefined || admin === undefined || admin.kind !== 'tcp')
    throw new PdpError('INVALID_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`);
  return {
    source: raw.db !== undefined ? { kind: 'db', path: raw.db } : { kind: 'bundle', path: raw.bundle as string },
    mode,
    listen,
    adminListen: { host: admin.host, port: admin.port },
    logLevel: logLevel as LevelWithSilent,
    shutdownGraceMs: DEFAULTS.shutdownGraceMs,
    debounceMs: DEFAULTS.debounceMs,
  };
}
