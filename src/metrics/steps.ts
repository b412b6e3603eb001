import { Counter, type Registry } from 'prom-client';
import type { GuardrailVerdict } from '../model/guardrail.js';

/** Distinct `kind` label values kept; later kinds are counted as "other" (a bundle could name many). */
export const MAX_KIND_LABELS = 32;

type Outcome = GuardrailVerdict['outcome'];
const OUTCOMES: readonly Outcome[] = ['pass', 'fail', 'error'];

/** `pdp_pipeline_steps_total{kind,outcome}` and the bounded `kind` label shared with HTTP guardrail metrics. */
export interface StepCounter {
  /** Counts one step: a Map lookup and an array increment, no allocation once the kind is known. */
  observe(kind: string, outcome: Outcome): void;
  /** The label value for a guardrail kind: itself while fewer than MAX_KIND_LABELS are known, else "other". */
  kindLabel(kind: string): string;
}

/**
 * Creates the pipeline step counter. Steps are tallied in plain arrays and added to the prom-client
 * counter at scrape time, so the hot path never hashes labels. Kinds come from the bundle, never
 * from request text, and at most MAX_KIND_LABELS of them get their own series.
 */
export function createStepCounter(registry: Registry): StepCounter {
  const tallies = new Map<string, { counted: Float64Array; reported: Float64Array }>();
  const kindLabel = (kind: string): string => (tallies.has(kind) || tallies.size < MAX_KIND_LABELS ? kind : 'other');
  new Counter({
    name: 'pdp_pipeline_steps_total',
    help: 'Pipeline steps run, by guardrail kind (litellm_params.guardrail) and outcome (pass, fail, error).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const [kind, t] of tallies)
        OUTCOMES.forEach((outcome, i) => {
          const delta = (t.counted[i] as number) - (t.reported[i] as number);
          if (delta > 0) this.inc({ kind, outcome }, delta);
          t.reported[i] = t.counted[i] as number;
        });
    },
  });
  return {
    kindLabel,
    observe(kind, outcome) {
      const label = kindLabel(kind);
      let t = tallies.get(label);
      if (t === undefined) {
        t = { counted: new Float64Array(OUTCOMES.length), reported: new Float64Array(OUTCOMES.length) };
        tallies.set(label, t);
      }
      const i = outcome === 'pass' ? 0 : outcome === 'fail' ? 1 : 2;
      t.counted[i] = (t.counted[i] as number) + 1;
    },
  };
}
