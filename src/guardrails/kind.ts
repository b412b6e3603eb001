import type { Dispatcher } from 'undici';
import type { BundleFiles, DocPath } from '../model/bundle.js';
import type { GuardrailCheck } from '../model/guardrail.js';
import type { Severity } from '../model/issue.js';
import type { GuardrailSpec, ValidationMode } from '../model/policy.js';
import type { PatternTimeoutListener } from '../regex/safety/bounded.js';

/** What guardrails may use at run time, supplied by the app (tests and the CLI pass their own). */
export interface GuardrailEnv {
  /**
   * The keep-alive HTTP connection pool for remote guardrails (read when such a guardrail is
   * compiled, so it may be a lazy getter: see HttpPool); undici's global dispatcher when unset.
   */
  readonly dispatcher?: Dispatcher;
  /** Observes every HTTP guardrail call: its kind, seconds taken, and how it ended. */
  readonly onHttpCall?: (kind: string, seconds: number, result: 'ok' | 'error' | 'timeout') => void;
  /**
   * Told, once per pattern, when a regex runs out of its time budget: a content filter's custom
   * pattern, and (compile passes it on) a policy condition's pattern.
   */
  readonly onPatternTimeout?: PatternTimeoutListener;
}

/** Reports a problem with a guardrail's settings, at a path under its `litellm_params`. */
export type ReportGuardrailProblem = (
  severity: Severity,
  rule: 'invalid_guardrail_config' | 'unsafe_regex' | 'invalid_file',
  message: string,
  path: DocPath,
) => void;

/** What a kind's `compile` gets besides the spec: the run-time env, the mode, and where to report. */
export interface GuardrailCompileContext {
  readonly env: GuardrailEnv;
  readonly mode: ValidationMode;
  readonly report: ReportGuardrailProblem;
  /**
   * Reports a setting LiteLLM accepts but the sidecar cannot run (e.g. an image model): the
   * guardrail stays defined for Resolve, and its pipeline steps end in ERROR. compileGuardrails
   * turns all of a guardrail's reasons into one `not_executable` warning (an error with
   * --require-executable). Unset (a kind compiled on its own, in tests): reported as errors.
   */
  readonly unsupported?: (message: string, path: DocPath) => void;
  /** The files the bundle names, as its source read them (see model/bundle.ts); none when unset. */
  readonly files?: BundleFiles;
}

/** A compiled check and its time limit for steps that set none. */
export interface GuardrailBuild {
  readonly check: GuardrailCheck;
  readonly timeoutMs: number;
}

/**
 * The contract of a guardrail kind the sidecar executes. `compile` runs once per activation: it
 * validates the settings (reporting every problem through `ctx.report`, usually via
 * `createParamReporter` in params.ts, so a bad config fails the activation, not a request) and
 * returns the check, or undefined after reporting an error. A new kind implements this in its own
 * file (or folder, for a family of files) and is added to the registry in index.ts.
 */
export interface GuardrailKind {
  /** The `litellm_params.guardrail` value. */
  readonly kind: string;
  compile(spec: GuardrailSpec, ctx: GuardrailCompileContext): GuardrailBuild | undefined;
}
