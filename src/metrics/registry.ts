import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActivationResult } from '../activation/activator.js';

/** The app's metrics, on an explicit registry (never prom-client's global one). */
export interface PdpMetrics {
  readonly registry: Registry;
  /** Records one activation attempt. */
  observeActivation(result: ActivationResult, durationMs: number): void;
}

/** Creates the registry with Node's default process metrics and the activation series. */
export function createMetrics(): PdpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const activations = new Counter({
    name: 'pdp_activations_total',
    help: 'Snapshot activation attempts, by result (activated, unchanged, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'pdp_activation_duration_seconds',
    help: 'Time to load and compile a bundle.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const info = new Gauge({
    name: 'pdp_snapshot_info',
    help: 'The active snapshot (always 1), labelled with its revision and origin.',
    labelNames: ['revision', 'origin'] as const,
    registers: [registry],
  });
  const policies = new Gauge({ name: 'pdp_snapshot_policies', help: 'Policies in the active snapshot.', registers: [registry] });
  const attachments = new Gauge({
    name: 'pdp_snapshot_attachments',
    help: 'Attachments in the active snapshot.',
    registers: [registry],
  });
  return {
    registry,
    observeActivation(result, durationMs) {
      duration.observe(durationMs / 1000);
      if (!result.ok) return activations.inc({ result: 'failed' });
      activations.inc({ result: result.isChanged ? 'activated' : 'unchanged' });
      if (!result.isChanged) return;
      const s = result.snapshot;
      info.reset(); // one live series: the active revision
      info.set({ revision: s.revision, origin: s.origin }, 1);
      policies.set(s.policies.size);
      attachments.set(s.attachments.size);
    },
  };
}
