import { parseArgs } from 'node:util';
import type { LevelWithSilent, Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createInjectorMetrics } from '../kube/metrics.js';
import type { InjectSettings } from '../kube/plan.js';
import { WebhookServer } from '../kube/webhook-server.js';
import { createLogger } from '../logger.js';
import { AdminServer } from '../metrics/http.js';
import { parseListenAddress } from '../server/listen-address.js';
import { SIDECAR_FLAGS, SIDECAR_FLAGS_HELP, settingsFromFlags } from './inject.js';
import { type CliIo, EXIT, usageError } from './io.js';

export const INJECTOR_DEFAULTS = Object.freeze({ listen: '0.0.0.0:8443', adminListen: '0.0.0.0:9464', logLevel: 'info', shutdownGraceMs: 5000 });

const USAGE = `usage: guardrail-pdp injector --tls-cert FILE --tls-key FILE --image IMAGE [options]
The sidecar injector: an HTTPS admission webhook (POST /mutate, admission.k8s.io/v1 AdmissionReview)
that adds the guardrail-pdp sidecar to pods labelled or annotated guardrail-pdp.dev/inject: "true".
  --tls-cert FILE --tls-key FILE   PEM certificate and key, re-read when they change (cert-manager).
  --listen HOST:PORT          The webhook (default ${INJECTOR_DEFAULTS.listen}).
  --admin-listen HOST:PORT    Plain HTTP /healthz, /readyz, /metrics (default ${INJECTOR_DEFAULTS.adminListen}).
  --log-level LEVEL           fatal, error, warn, info, debug, trace or silent (default ${INJECTOR_DEFAULTS.logLevel}).
${SIDECAR_FLAGS_HELP}`;

export interface InjectorConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly adminListen: { readonly host: string; readonly port: number };
  readonly certPath: string;
  readonly keyPath: string;
  readonly settings: InjectSettings;
}

export interface RunningInjector {
  readonly webhook: WebhookServer;
  readonly webhookAddress: string;
  readonly adminAddress: string;
  readonly registry: Registry;
  /** Not ready, stop accepting, let requests in flight finish (up to `graceMs`), close the admin listener. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the webhook and its admin listener (each with its own registry and logger); tests use it too. */
export async function startInjector(config: InjectorConfig, log: Logger): Promise<RunningInjector> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createInjectorMetrics(registry);
  const webhook = new WebhookServer({ ...config.listen, certPath: config.certPath, keyPath: config.keyPath, settings: config.settings, metrics, log });
  const admin = new AdminServer({ ...config.adminListen, registry, isReady: () => webhook.isReady(), log });
  const webhookAddress = await webhook.start();
  let adminAddress: string;
  try {
    adminAddress = await admin.start();
  } catch (e) {
    await webhook.stop(0);
    throw e;
  }
  return {
    webhook,
    webhookAddress,
    adminAddress,
    registry,
    async stop(graceMs = INJECTOR_DEFAULTS.shutdownGraceMs) {
      await webhook.stop(graceMs);
      await admin.stop();
    },
  };
}

/** The flags of `injector`. */
export const INJECTOR_FLAGS = {
  ...SIDECAR_FLAGS,
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  listen: { type: 'string' },
  'admin-listen': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `injector`'s arguments say: a configuration, or every problem with them. */
export type InjectorArgs =
  | { readonly kind: 'help' }
  | { readonly kind: 'config'; readonly config: InjectorConfig; readonly logLevel: string }
  | { readonly kind: 'problems'; readonly problems: readonly string[] };

/** Parses `injector`'s arguments (the tests of deploy/injector parse its Deployment's with it too). */
export function parseInjectorArgs(args: string[]): InjectorArgs {
  const { values, positionals } = parseArgs({ args, options: INJECTOR_FLAGS, allowPositionals: true });
  if (values.help === true) return { kind: 'help' };
  const problems: string[] = [];
  const settings = settingsFromFlags(values, problems);
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);
  const certPath = values['tls-cert'];
  const keyPath = values['tls-key'];
  if (certPath === undefined || keyPath === undefined) problems.push('--tls-cert and --tls-key are required: the API server calls webhooks over HTTPS only');
  const tcp = (value: string, option: string): { host: string; port: number } | undefined => {
    try {
      const a = parseListenAddress(value, option);
      if (a.kind === 'tcp') return a;
      problems.push(`${option}: must be host:port (the API server and the kubelet connect over TCP)`);
    } catch (e) {
      problems.push((e as Error).message);
    }
    return undefined;
  };
  const listen = tcp(values.listen ?? INJECTOR_DEFAULTS.listen, '--listen');
  const adminListen = tcp(values['admin-listen'] ?? INJECTOR_DEFAULTS.adminListen, '--admin-listen');
  const logLevel = values['log-level'] ?? INJECTOR_DEFAULTS.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`--log-level: '${logLevel}' is not a level`);
  if (problems.length > 0 || settings === undefined || listen === undefined || adminListen === undefined || certPath === undefined || keyPath === undefined)
    return { kind: 'problems', problems };
  return { kind: 'config', config: { listen, adminListen, certPath, keyPath, settings }, logLevel };
}

/**
 * `injector`: serves the admission webhook until SIGTERM or SIGINT, then stops gracefully.
 * Exit 0 after a clean stop; 2 for bad options, unusable certificate files or a busy address.
 */
export async function runInjector(args: string[], io: CliIo): Promise<number> {
  const parsed = parseInjectorArgs(args);
  if (parsed.kind === 'help') {
    io.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (parsed.kind === 'problems') return usageError(io, parsed.problems, USAGE);
  const log = createLogger(parsed.logLevel as LevelWithSilent);
  let running: RunningInjector;
  try {
    running = await startInjector(parsed.config, log);
  } catch (e) {
    io.stderr.write(`guardrail-pdp injector: ${(e as Error).message}\n`);
    return EXIT.UNREADABLE;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ component: 'cli', signal }, 'signal received: stopping the injector');
      running.stop().then(
        () => resolve(EXIT.OK),
        () => resolve(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
