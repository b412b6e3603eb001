import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReviewOutcome } from './admission.js';

/** The injector's series, on the registry it is given (never prom-client's global one). */
export interface InjectorMetrics {
  /** One answered HTTP request to the webhook path: its status, and the review's outcome when it had one. */
  observe(status: number, seconds: number, outcome: ReviewOutcome | undefined): void;
  /** A certificate load: at startup and on every change of the files. */
  observeCertificate(result: 'ok' | 'failed', notAfterSeconds?: number): void;
}

/** Upper bounds (seconds) for a review: 50 µs to 1 s. A review is tens of microseconds of work. */
export const REVIEW_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]);

/** Registers the injector's series on `registry`. Label values come from fixed sets only. */
export function createInjectorMetrics(registry: Registry): InjectorMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'pdp_injector_requests_total',
    help: 'HTTP requests to the webhook path (/mutate), by status code.',
    labelNames: ['code'] as const,
    registers,
  });
  const injected = new Counter({
    name: 'pdp_injector_injected_total',
    help: 'Pods patched: the sidecar added, or (completed="true") only app containers added since given its address.',
    labelNames: ['completed'] as const,
    registers,
  });
  const skipped = new Counter({
    name: 'pdp_injector_skipped_total',
    help: 'Reviews answered without a patch and without a problem, by reason (not_pod_create, not_selected, already_injected).',
    labelNames: ['reason'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'pdp_injector_errors_total',
    help: 'Reviews that went wrong, by reason: cannot_inject (admitted unchanged with a warning), bad_request (HTTP 4xx), internal (admitted unchanged).',
    labelNames: ['reason'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'pdp_injector_review_duration_seconds',
    help: 'Time from a request to the webhook path arriving to its answer being written.',
    buckets: [...REVIEW_BUCKETS_SECONDS],
    registers,
  });
  const reloads = new Counter({
    name: 'pdp_injector_certificate_loads_total',
    help: 'Loads of the serving certificate and key (startup and each change of the files), by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const expiry = new Gauge({
    name: 'pdp_injector_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the certificate being served, in seconds since the epoch.',
    registers,
  });
  for (const completed of ['false', 'true']) injected.inc({ completed }, 0);
  for (const reason of ['not_pod_create', 'not_selected', 'already_injected']) skipped.inc({ reason }, 0);
  for (const reason of ['cannot_inject', 'bad_request', 'internal']) errors.inc({ reason }, 0);
  for (const result of ['ok', 'failed']) reloads.inc({ result }, 0);

  return {
    observe(status, seconds, outcome) {
      requests.inc({ code: String(status) });
      duration.observe(seconds);
      if (outcome === undefined) {
        if (status >= 400 && status < 500) errors.inc({ reason: 'bad_request' });
        return;
      }
      if (outcome.kind === 'injected') injected.inc({ completed: String(outcome.completed) });
      else if (outcome.kind === 'skipped') skipped.inc({ reason: outcome.why });
      else errors.inc({ reason: outcome.kind === 'refused' ? 'cannot_inject' : 'internal' });
    },
    observeCertificate(result, notAfterSeconds) {
      reloads.inc({ result });
      if (notAfterSeconds !== undefined) expiry.set(notAfterSeconds);
    },
  };
}
