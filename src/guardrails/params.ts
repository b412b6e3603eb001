import type { DocPath } from '../model/bundle.js';
import type { GuardrailSpec } from '../model/policy.js';
import type { Severity } from '../model/issue.js';
import type { GuardrailCompileContext, ReportGuardrailProblem } from './kind.js';

/**
 * `litellm_params` keys every guardrail kind may carry that say nothing about what a check does:
 * the kind, when it runs, and LiteLLM's logging masks. Kinds accept them without a word.
 */
export const COMMON_GUARDRAIL_KEYS: ReadonlySet<string> = new Set(['guardrail', 'mode', 'default_on', 'mask_request_content', 'mask_response_content']);

/**
 * Reports a built-in kind's settings problems, each prefixed with the guardrail and kind and
 * located under `litellm_params`. `hasErrors` says whether any error was reported (then the kind
 * builds no check).
 */
export interface ParamReporter {
  error(message: string, path: DocPath): void;
  warn(message: string, path: DocPath): void;
  /** A setting LiteLLM accepts that the sidecar cannot run: the guardrail is then not executable (see GuardrailCompileContext.unsupported). */
  unsupported(message: string, path: DocPath): void;
  /** Whether any setting was reported unsupported. */
  readonly hasUnsupported: boolean;
  /** Any severity and rule (e.g. `unsafe_regex`). */
  report(severity: Severity, rule: GuardrailProblemRule, message: string, path: DocPath): void;
  readonly hasErrors: boolean;
}

/** The rules a guardrail's settings problem can break. */
export type GuardrailProblemRule = Parameters<ReportGuardrailProblem>[1];

/** A {@link ParamReporter} for `spec`, reporting through `ctx`. */
export function createParamReporter(spec: GuardrailSpec, ctx: GuardrailCompileContext): ParamReporter {
  const prefix = `guardrail '${spec.name}' (${spec.kind}): `;
  let hasErrors = false;
  let hasUnsupported = false;
  const report = (severity: Severity, rule: GuardrailProblemRule, message: string, path: DocPath): void => {
    if (severity === 'error') hasErrors = true;
    ctx.report(severity, rule, prefix + message, path);
  };
  return {
    error: (message, path) => report('error', 'invalid_guardrail_config', message, path),
    warn: (message, path) => report('warning', 'invalid_guardrail_config', message, path),
    unsupported: (message, path) => {
      hasUnsupported = true;
      if (ctx.unsupported !== undefined) ctx.unsupported(message, path);
      else report('error', 'invalid_guardrail_config', message, path);
    },
    report,
    get hasErrors() {
      return hasErrors;
    },
    get hasUnsupported() {
      return hasUnsupported;
    },
  };
}

/**
 * Warns about each key of `params` that is neither common nor one of the kind's own: LiteLLM
 * ignores unknown keys, so such a key is usually a typo whose setting silently does nothing.
 */
export function warnUnknownKeys(params: Readonly<Record<string, unknown>>, own: ReadonlySet<string>, where: DocPath, report: ParamReporter): void {
  for (const key of Object.keys(params)) {
    if (COMMON_GUARDRAIL_KEYS.has(key) || own.has(key)) continue;
    report.warn(`unknown key '${key}' is ignored (known keys: ${[...own].join(', ')})`, [...where, key]);
  }
}

/** Whether a YAML value is a mapping. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether a YAML value is absent: a missing key or an explicit null (LiteLLM's None). */
export function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}
