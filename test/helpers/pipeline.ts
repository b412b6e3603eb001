import type { CompiledGuardrail, GuardrailCheck } from '../../src/model/guardrail.js';
import type { PipelineInput } from '../../src/model/pipeline-run.js';
import type { PipelineMode, PipelineSpec, PipelineStepSpec } from '../../src/model/policy.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { ctx, snapshotOf } from './snapshot.js';

/** A compiled guardrail with a fake check (undefined: a kind the sidecar cannot execute). */
export function fakeGuardrail(
  name: string,
  check: GuardrailCheck | undefined,
  opts: { kind?: string; timeoutMs?: number } = {},
): CompiledGuardrail {
  const kind = opts.kind ?? (check === undefined ? 'presidio' : 'fake');
  return {
    name,
    kind,
    spec: { index: 0, name, kind, mode: undefined, params: { guardrail: kind } },
    check,
    timeoutMs: opts.timeoutMs ?? 0,
  };
}

/**
 * A snapshot whose guardrails are exactly these (by name), compiled from `yaml` (by default an
 * empty bundle), so the executor can be tested without the real guardrail kinds.
 */
export function snapshotWithGuardrails(guardrails: readonly CompiledGuardrail[], yaml = 'policies: {}\n'): Snapshot {
  const base = snapshotOf(yaml);
  return { ...base, guardrails: new Map(guardrails.map((g) => [g.name, g] as const)) };
}

/** A pipeline step with LiteLLM's defaults unless given. */
export function step(guardrail: string, partial: Partial<Omit<PipelineStepSpec, 'guardrail'>> = {}): PipelineStepSpec {
  return {
    guardrail,
    onPass: 'allow',
    onFail: 'block',
    onError: undefined,
    passData: false,
    modifyResponseMessage: undefined,
    timeoutMs: undefined,
    ...partial,
  };
}

/** A pipeline of these steps (pre_call unless told). */
export function pipelineOf(steps: readonly PipelineStepSpec[], mode: PipelineMode = 'pre_call'): PipelineSpec {
  return { mode, steps };
}

/** Pipeline input: one user message unless given. */
export function pipelineInput(partial: Partial<PipelineInput> = {}): PipelineInput {
  return {
    messages: [{ role: 'user', content: 'hello' }],
    responseText: undefined,
    context: ctx(),
    requestId: '',
    ...partial,
  };
}
