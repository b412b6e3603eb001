import type { BundleFiles, DocPath } from '../model/bundle.js';
import type { CompiledGuardrail, GuardrailCheck, GuardrailVerdict } from '../model/guardrail.js';
import type { IssueRule, Severity } from '../model/issue.js';
import type { GuardrailSpec, ValidationMode } from '../model/policy.js';
import { contentFilter } from './content-filter/content-filter.js';
import { resolveEnvReferences, type EnvLookup } from './env-references.js';
import { genericGuardrailApi } from './generic-api/generic-api.js';
import type { GuardrailEnv, GuardrailKind } from './kind.js';
import { lengthLimit } from './length-limit.js';

/** The executable kinds, by `litellm_params.guardrail`. Every other kind is known by name only. */
export const GUARDRAIL_KINDS: ReadonlyMap<string, GuardrailKind> = new Map<string, GuardrailKind>(
  [genericGuardrailApi, contentFilter, lengthLimit].map((k: GuardrailKind) => [k.kind, k] as const),
);

/** Where a guardrail problem is reported: its spec and a path under its litellm_params. */
export type ReportAt = (spec: GuardrailSpec, severity: Severity, rule: IssueRule, message: string, path: DocPath) => void;

/** How guardrails are compiled (compile's options pass these through). */
export interface GuardrailCompileOptions {
  readonly env: GuardrailEnv;
  readonly mode: ValidationMode;
  /** Reads the sidecar's environment for `os.environ/NAME` values; unset, no variable is set. */
  readonly lookupEnv?: EnvLookup;
  /** Every guardrail the sidecar cannot execute is an error (`--require-executable`), not a warning. */
  readonly requireExecutable?: boolean;
  /** The files the bundle names, read by its source. */
  readonly files?: BundleFiles;
}

/**
 * Compiles every guardrail definition. `os.environ/NAME` values in litellm_params are resolved
 * first (a missing variable: an error for a kind the sidecar runs, a warning for the others), and
 * every message and step detail of a guardrail that used one shows `os.environ/NAME` instead of
 * the value. A guardrail the sidecar cannot execute gets no check (its pipeline steps end in
 * ERROR): a kind it does not know (silently, as LiteLLM kinds the gateway runs are expected), or a
 * built-in kind with settings it does not support (one `not_executable` warning naming them).
 * With `requireExecutable` both are errors. Returns a frozen map by guardrail_name.
 */
export function compileGuardrails(
  specs: readonly GuardrailSpec[],
  options: GuardrailCompileOptions,
  reportAt: ReportAt,
): ReadonlyMap<string, CompiledGuardrail> {
  const out = new Map<string, CompiledGuardrail>();
  const lookup = options.lookupEnv ?? (() => undefined);
  for (const spec of specs) {
    const kind = GUARDRAIL_KINDS.get(spec.kind);
    const prefix = `guardrail '${spec.name}' (${spec.kind}): `;
    const resolved = resolveEnvReferences(spec.params, lookup);
    const scrub = resolved.scrub;
    const report = (severity: Severity, rule: IssueRule, message: string, path: DocPath): void => reportAt(spec, severity, rule, scrub(message), path);
    for (const { name, path } of resolved.missing) {
      const severity = kind === undefined ? 'warning' : 'error';
      const effect = kind === undefined ? 'the gateway, which runs this kind, must have it' : 'the sidecar runs this kind and needs the value';
      report(severity, 'missing_env_var', `${prefix}environment variable ${name} is not set (os.environ/${name}); ${effect}`, path);
    }
    if (kind === undefined) {
      if (options.requireExecutable) {
        report('error', 'not_executable', `${prefix}not executable in the sidecar: it does not run kind ${spec.kind} (--require-executable)`, ['guardrail']);
      }
      out.set(spec.name, Object.freeze({ name: spec.name, kind: spec.kind, spec, check: undefined, timeoutMs: 0 }));
      continue;
    }
    // A missing value is left out of what the kind sees; its complaints about that very setting
    // would repeat the missing_env_var error, so they are dropped, and its others still count.
    // (at the setting, or above it naming it: "api_base is required").
    const isAboutMissing = (path: DocPath, message: string): boolean =>
      resolved.missing.some((m) => m.path.every((part, i) => i >= path.length || path[i] === part) && (path.length >= m.path.length || message.includes(String(m.path[path.length]))));
    const reasons: { message: string; path: DocPath }[] = [];
    const env: GuardrailEnv = resolved.secrets.length === 0 ? options.env : scrubbedEnv(options.env, scrub);
    const build = kind.compile(
      { ...spec, params: resolved.params },
      {
        env,
        mode: options.mode,
        report: (severity, rule, message, path) => {
          if (!isAboutMissing(path, message)) report(severity, rule, message, path);
        },
        unsupported: (message, path) => reasons.push({ message, path }),
        files: options.files,
      },
    );
    let notExecutable: string | undefined;
    if (reasons.length > 0) {
      notExecutable = reasons.map((r) => r.message).join('; ');
      const first = reasons[0] as (typeof reasons)[number];
      if (options.requireExecutable) report('error', 'not_executable', `${prefix}not executable in the sidecar: ${notExecutable} (--require-executable)`, first.path);
      else {
        const effect = 'Resolve still returns it; its pipeline steps end in ERROR, and the step\'s on_error (else on_fail) applies';
        report('warning', 'not_executable', `${prefix}not executable in the sidecar: ${notExecutable}. ${effect}`, first.path);
      }
    }
    const check = notExecutable !== undefined || build === undefined || resolved.missing.length > 0 ? undefined : resolved.secrets.length === 0 ? build.check : scrubbedCheck(build.check, scrub);
    out.set(
      spec.name,
      Object.freeze({ name: spec.name, kind: spec.kind, spec, check, timeoutMs: build?.timeoutMs ?? 0, ...(notExecutable === undefined ? {} : { notExecutable: scrub(notExecutable) }) }),
    );
  }
  return out;
}

/** A check whose verdict details never show an environment value (a URL from os.environ/, say). */
function scrubbedCheck(check: GuardrailCheck, scrub: (s: string) => string): GuardrailCheck {
  const clean = (v: GuardrailVerdict): GuardrailVerdict => (v.outcome === 'pass' ? v : { outcome: v.outcome, detail: scrub(v.detail) });
  return (input) => {
    const verdict = check(input);
    return verdict instanceof Promise ? verdict.then(clean) : clean(verdict);
  };
}

/** The env with observers that never see an environment value (a pattern from os.environ/, say). */
function scrubbedEnv(env: GuardrailEnv, scrub: (s: string) => string): GuardrailEnv {
  const { onPatternTimeout } = env;
  return {
    get dispatcher() {
      return env.dispatcher;
    },
    onHttpCall: env.onHttpCall,
    onPatternTimeout: onPatternTimeout === undefined ? undefined : (event) => onPatternTimeout({ ...event, pattern: scrub(event.pattern) }),
  };
}
