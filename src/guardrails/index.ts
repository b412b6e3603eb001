import type { CompiledGuardrail } from '../model/guardrail.js';
import type { GuardrailSpec, ValidationMode } from '../model/policy.js';
import { contentFilter } from './content-filter/content-filter.js';
import { genericGuardrailApi } from './generic-api/generic-api.js';
import type { GuardrailEnv, GuardrailKind, ReportGuardrailProblem } from './kind.js';
import { lengthLimit } from './length-limit.js';

/** The executable kinds, by `litellm_params.guardrail`. Every other kind is known by name only. */
export const GUARDRAIL_KINDS: ReadonlyMap<string, GuardrailKind> = new Map<string, GuardrailKind>(
  [genericGuardrailApi, contentFilter, lengthLimit].map((k: GuardrailKind) => [k.kind, k] as const),
);

/** Where a guardrail problem is reported: its spec and a path under its litellm_params. */
export type ReportAt = (spec: GuardrailSpec, ...problem: Parameters<ReportGuardrailProblem>) => void;

/**
 * Compiles every guardrail definition. Kinds the sidecar cannot execute get no check (their
 * pipeline steps end in ERROR). Returns a frozen map by guardrail_name.
 */
export function compileGuardrails(
  specs: readonly GuardrailSpec[],
  env: GuardrailEnv,
  mode: ValidationMode,
  reportAt: ReportAt,
): ReadonlyMap<string, CompiledGuardrail> {
  const out = new Map<string, CompiledGuardrail>();
  for (const spec of specs) {
    const kind = GUARDRAIL_KINDS.get(spec.kind);
    const build = kind?.compile(spec, { env, mode, report: (...p) => reportAt(spec, ...p) });
    out.set(spec.name, Object.freeze({ name: spec.name, kind: spec.kind, spec, check: build?.check, timeoutMs: build?.timeoutMs ?? 0 }));
  }
  return out;
}
