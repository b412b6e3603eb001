import type { Dispatcher } from 'undici';
import type { DocPath } from '../model/bundle.js';
import type { CompiledGuardrail, GuardrailCheck } from '../model/guardrail.js';
import type { Severity } from '../model/issue.js';
import type { GuardrailSpec, ValidationMode } from '../model/policy.js';
import { contentFilter } from './content-filter/content-filter.js';
import { genericGuardrailApi } from './generic-api/generic-api.js';
import { lengthLimit } from './length-limit.js';

/** What guardrails may use at run time, supplied by the app (tests and the CLI pass their own). */
export interface GuardrailEnv {
  /**
   * The keep-alive HTTP connection pool for remote guardrails (read when such a guardrail is
   * compiled, so it may be a lazy getter: see HttpPool); undici's global dispatcher when unset.
   */
  readonly dispatcher?: Dispatcher;
  /** Observes every HTTP guardrail call: its kind, seconds taken, and how it ended. */
  readonly onHttpCall?: (kind: string, seconds: number, result: 'ok' | 'error' | 'timeout') => void;
}

/** Reports a problem with a guardrail's settings, at a path under its `litellm_params`. */
export type ReportGuardrailProblem = (
  severity: Severity,
  rule: 'invalid_guardrail_config' | 'unsafe_regex',
  message: string,
  path: DocPath,
) => void;

export interface GuardrailCompileContext {
  readonly env: GuardrailEnv;
  readonly mode: ValidationMode;
  readonly report: ReportGuardrailProblem;
}

/** A compiled check and its time limit for steps that set none. */
export interface GuardrailBuild {
  readonly check: GuardrailCheck;
  readonly timeoutMs: number;
}

/**
 * A kind of guardrail the sidecar executes. `compile` runs once per activation: it validates the
 * settings (reporting every problem, so a bad config fails the activation, not a request) and
 * returns the check, or undefined after reporting an error.
 */
export interface GuardrailKind {
  /** The `litellm_params.guardrail` value. */
  readonly kind: string;
  compile(spec: GuardrailSpec, ctx: GuardrailCompileContext): GuardrailBuild | undefined;
}

/** The executable kinds, by `litellm_params.guardrail`. Every other kind is known by name only. */
export const GUARDRAIL_KINDS: ReadonlyMap<string, GuardrailKind> = new Map<string, GuardrailKind>(
  [
    genericGuardrailApi,
    contentFilter,
    lengthLimit,
  ].map((k: GuardrailKind) => [k.kind, k] as const),
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
