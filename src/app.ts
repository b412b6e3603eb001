import type { Logger, LevelWithSilent } from 'pino';
import { Activator } from './activation/activator.js';
import { SnapshotHolder } from './activation/holder.js';
import type { EnvLookup } from './guardrails/env-references.js';
import { HttpPool } from './guardrails/generic-api/http-pool.js';
import { PdpError } from './errors.js';
import { createLogger } from './logger.js';
import { AdminServer } from './metrics/http.js';
import { createMetrics } from './metrics/registry.js';
import type { ValidationMode } from './model/policy.js';
import { createDecisionLog } from './server/handlers/decision-log.js';
import { PdpServer } from './server/grpc.js';
import type { ListenAddress } from './server/listen-address.js';
import type { TlsMaterial } from './server/tls.js';
import { createSource, type SourceConfig } from './sources/create-source.js';
import type { PolicySource } from './sources/source.js';

/** Everything `serve` needs, parsed and validated once by cli/config.ts. */
export interface AppConfig {
  readonly source: SourceConfig;
  readonly mode: ValidationMode;
  readonly listen: ListenAddress;
  readonly adminListen: { readonly host: string; readonly port: number };
  readonly logLevel: LevelWithSilent;
  /** How long in-flight calls get on stop before they are cancelled. */
  readonly shutdownGraceMs: number;
  /** Quiet period after a source change before re-activating (coalesces bursts of writes). */
  readonly debounceMs: number;
  /** Fraction of decisions written to the decision log, 0..1 (default 0: off). */
  readonly decisionLogSampleRate?: number;
  /** Cap on decision API calls in flight plus open Watch streams (default 2048); beyond it, RESOURCE_EXHAUSTED. */
  readonly maxInFlight?: number;
  /** TLS for the decision API, read and checked by the config loader; mTLS when it has a client CA. */
  readonly tls?: TlsMaterial;
  /** Allows a plaintext decision API on a non-loopback address (refused otherwise). */
  readonly isInsecureListenAllowed?: boolean;
  /** Activates reloads that drop more than half of what is served (refused otherwise; see the Activator). */
  readonly allowShrink?: boolean;
  /** The loader thread's heap in MB: a bundle or db that needs more to load fails to load (unset: Node's default). */
  readonly loaderHeapMb?: number;
  /** Guardrails the sidecar cannot execute fail the activation instead of being warnings (`--require-executable`). */
  readonly requireExecutable?: boolean;
  /** LiteLLM's content filter categories directory (`--content-filter-categories`), for built-in category names. */
  readonly contentFilterCategoriesDir?: string;
  /** The sidecar's environment, for guardrails' `os.environ/NAME` values (cli/ fills it from process.env). */
  readonly lookupEnv?: EnvLookup;
}

/** Replaceable parts, for tests. */
export interface AppOverrides {
  readonly log?: Logger;
  readonly source?: PolicySource;
}

export interface App {
  /** The app's logger (the CLI logs signals through it). */
  readonly log: Logger;
  readonly holder: SnapshotHolder;
  readonly activator: Activator;
  /** The gRPC decision API server. */
  readonly server: PdpServer;
  /**
   * Activates the bundle (throws its PdpError if it cannot), then serves. Returns the bound
   * addresses. If stop() is called meanwhile, nothing starts listening and this rejects with NOT_READY.
   */
  start(): Promise<{ readonly grpcAddress: string; readonly adminAddress: string }>;
  /** Health NOT_SERVING, drains calls for the grace period, closes listeners. Also during start(): it waits for the first activation. */
  stop(): Promise<void>;
}

/** The composition root: wires source -> activator -> holder -> servers. No process-wide state. */
export function createApp(config: AppConfig, overrides: AppOverrides = {}): App {
  const log = overrides.log ?? createLogger(config.logLevel);
  const source =
    overrides.source ??
    createSource(config.source, {
      debounceMs: config.debounceMs,
      loaderHeapMb: config.loaderHeapMb,
      contentFilterCategoriesDir: config.contentFilterCategoriesDir,
      onWatchError: (err) =>
        log.child({ component: 'source' }).error({ err, origin: config.source.path }, `watching ${config.source.path} failed; changes may go unnoticed until restart`),
    });
  const holder = new SnapshotHolder();
  const metrics = createMetrics({
    openWatchStreams: () => grpc.openWatchStreams,
    callsInFlight: () => grpc.callsInFlight,
  });
  // One keep-alive pool for every HTTP guardrail, across snapshots; closed on stop.
  const httpPool = new HttpPool();
  const activator = new Activator({
    source,
    holder,
    mode: config.mode,
    allowShrink: config.allowShrink,
    lookupEnv: config.lookupEnv,
    requireExecutable: config.requireExecutable,
    guardrailEnv: {
      get dispatcher() {
        return httpPool.dispatcher;
      },
      onHttpCall: (kind, seconds, result) => metrics.observeHttpCall(kind, seconds, result),
      // Config text only (the pattern, its guardrail): never the model or prompt it ran on.
      onPatternTimeout: ({ use, pattern, guardrail, budgetMs }) =>
        log
          .child({ component: 'regex' })
          .warn(
            { use, pattern, guardrail, budgetMs },
            use === 'condition'
              ? 'a condition pattern ran out of its time budget, so it did not match that model (logged once per pattern)'
              : 'a content filter pattern ran out of its time budget, so its step ended in error (logged once per pattern)',
          ),
    },
    log,
  });
  activator.subscribe((event) => metrics.observeActivation(event));
  const grpc = new PdpServer({
    holder,
    log,
    listen: config.listen,
    events: activator,
    metrics,
    maxInFlight: config.maxInFlight,
    tls: config.tls,
    isInsecureListenAllowed: config.isInsecureListenAllowed,
    decisionLog: createDecisionLog({ log, sampleRate: config.decisionLogSampleRate ?? 0 }),
  });
  let started = false;
  let isStopping = false;
  let startup: Promise<void> = Promise.resolve();
  const admin = new AdminServer({
    ...config.adminListen,
    registry: metrics.registry,
    // Not ready while stopping, so the pod leaves its Service's endpoints.
    isReady: () => holder.current() !== undefined && !isStopping,
    log,
  });

  return {
    log,
    holder,
    activator,
    server: grpc,
    async start() {
      const starting = (async () => {
        const first = await activator.start();
        if (first.kind === 'failed') throw first.error;
        if (isStopping) throw new PdpError('NOT_READY', 'shutting down: stopped during the first activation, so nothing was served');
        const grpcAddress = await grpc.start();
        started = true;
        const adminAddress = await admin.start();
        return { grpcAddress, adminAddress };
      })();
      startup = starting.then(
        () => undefined,
        () => undefined,
      );
      return starting;
    },
    async stop() {
      const appLog = log.child({ component: 'app' });
      isStopping = true;
      appLog.info({ graceMs: config.shutdownGraceMs }, 'shutting down');
      // A start in progress (a signal during the first activation) first finishes or gives up.
      await startup;
      if (started) await grpc.stop(config.shutdownGraceMs);
      await activator.stop();
      // Every call has ended, so no guardrail request should be pending; destroy whatever is.
      await httpPool.destroy().catch(() => undefined);
      await admin.stop().catch(() => undefined);
      appLog.info('stopped');
    },
  };
}
