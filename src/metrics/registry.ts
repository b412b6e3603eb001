import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActivationEvent } from '../activation/activator.js';
import type { GuardrailVerdict } from '../model/guardrail.js';
import { GrpcServerMetrics } from './grpc-server.js';
import { createStepCounter } from './steps.js';

/** How an HTTP guardrail call ended (GuardrailEnv.onHttpCall). */
export type HttpCallResult = 'ok' | 'error' | 'timeout';

/** Values read at scrape time from the parts that own them. */
export interface MetricsSources {
  /** Open Watch streams. */
  readonly openWatchStreams?: () => number;
  /** Unary calls in flight (admitted, not yet answered). */
  readonly callsInFlight?: () => number;
  /** Clock for "seconds since the last activation" (tests pass their own). */
  readonly now?: () => number;
}

/** The app's metrics, on an explicit registry (never prom-client's global one). */
export interface PdpMetrics {
  readonly registry: Registry;
  /** The standard gRPC server series; the instrumentation wrapper records into it. */
  readonly grpc: GrpcServerMetrics;
  /** Records one activation attempt (subscribed to the Activator's events). */
  observeActivation(event: ActivationEvent): void;
  /** Records one pipeline step: the guardrail's kind (litellm_params.guardrail) and its outcome. */
  observeStep(kind: string, outcome: GuardrailVerdict['outcome']): void;
  /** Records one HTTP guardrail call (wired to GuardrailEnv.onHttpCall). */
  observeHttpCall(kind: string, seconds: number, result: HttpCallResult): void;
}

/** Upper bounds (seconds) for HTTP guardrail calls: 1 ms to 10 s (vendors answer in tens of ms). */
export const HTTP_GUARDRAIL_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * Creates the registry: Node's default process metrics (event-loop lag included), the standard
 * gRPC server series, and the PDP's own `pdp_*` series. Label values come from bounded sets only.
 */
export function createMetrics(sources: MetricsSources = {}): PdpMetrics {
  const registry = new Registry();
  const now = sources.now ?? Date.now;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const activations = new Counter({
    name: 'pdp_activations_total',
    help: 'Snapshot activation attempts, by result (activated, unchanged, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of ['activated', 'unchanged', 'failed']) activations.inc({ result }, 0);
  const duration = new Histogram({
    name: 'pdp_activation_duration_seconds',
    help: 'Time to load and compile a bundle.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // No origin label: the bundle's path is nobody's business on the cluster network (the admin
  // listener has no authentication; docs/operations.md). The revision identifies the content.
  const info = new Gauge({
    name: 'pdp_snapshot_info',
    help: 'The active snapshot (always 1), labelled with its revision.',
    labelNames: ['revision'] as const,
    registers: [registry],
  });
  const policies = new Gauge({ name: 'pdp_snapshot_policies', help: 'Policies in the active snapshot.', registers: [registry] });
  const attachments = new Gauge({
    name: 'pdp_snapshot_attachments',
    help: 'Attachments in the active snapshot.',
    registers: [registry],
  });
  let lastSuccessMs: number | undefined;
  new Gauge({
    name: 'pdp_seconds_since_last_activation',
    help: 'Seconds since the last successful activation attempt (activated or unchanged); NaN before the first.',
    registers: [registry],
    collect() {
      this.set(lastSuccessMs === undefined ? NaN : (now() - lastSuccessMs) / 1000);
    },
  });
  const httpCalls = new Histogram({
    name: 'pdp_http_guardrail_seconds',
    help: 'HTTP guardrail calls, by guardrail kind and result (ok, error, timeout).',
    labelNames: ['kind', 'result'] as const,
    buckets: [...HTTP_GUARDRAIL_BUCKETS_SECONDS],
    registers: [registry],
  });
  const { openWatchStreams, callsInFlight } = sources;
  new Gauge({
    name: 'pdp_watch_streams',
    help: 'Open Watch streams.',
    registers: [registry],
    collect() {
      this.set(openWatchStreams?.() ?? 0);
    },
  });
  new Gauge({
    name: 'pdp_calls_in_flight',
    help: 'Unary decision API calls admitted and not yet answered, plus cancelled calls whose work has not yet stopped; with pdp_watch_streams, what --max-in-flight caps.',
    registers: [registry],
    collect() {
      this.set(callsInFlight?.() ?? 0);
    },
  });
  const steps = createStepCounter(registry);
  return {
    registry,
    grpc: new GrpcServerMetrics(registry),
    observeActivation(event) {
      duration.observe(event.durationMs / 1000);
      activations.inc({ result: event.kind });
      if (event.kind === 'failed') return;
      lastSuccessMs = now();
      if (event.kind === 'unchanged') return;
      const s = event.snapshot;
      info.reset(); // one live series: the active revision
      info.set({ revision: s.revision }, 1);
      policies.set(s.policies.size);
      attachments.set(s.attachments.size);
    },
    observeStep: steps.observe,
    observeHttpCall(kind, seconds, result) {
      httpCalls.observe({ kind: steps.kindLabel(kind), result }, seconds);
    },
  };
}
