import { createHash } from 'node:crypto';
import { compileGuardrails } from '../guardrails/index.js';
import type { EnvLookup } from '../guardrails/env-references.js';
import type { GuardrailEnv } from '../guardrails/kind.js';
import type { Bundle } from '../model/bundle.js';
import { compareIssues, type Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import type { CompiledPolicy, Snapshot } from '../model/snapshot.js';
import { buildAttachmentIndex } from './attachment-index.js';
import { compileCondition, CONDITION_BUDGET_MS, type CompiledCondition, type ConditionCache, type ConditionProblem } from './condition.js';
import { issueAt } from './issues.js';
import { parseBundle } from './parse/parse.js';
import { compilePolicies } from './policies.js';
import type { Steps } from '../steps.js';
import { validateBundle } from './validate.js';
import { createVersionOverlay } from './versions.js';

export interface CompileOptions {
  readonly mode: ValidationMode;
  /** What compiled guardrails use at run time (HTTP pool, observers); defaults apply when unset. */
  readonly guardrailEnv?: GuardrailEnv;
  /**
   * Reads the sidecar's environment for guardrails' `os.environ/NAME` values (cli/ passes
   * process.env in; nothing below cli/ reads it). Unset: no variable is set.
   */
  readonly lookupEnv?: EnvLookup;
  /** Guardrails the sidecar cannot execute are errors, not warnings (`--require-executable`). */
  readonly requireExecutable?: boolean;
  /** Clock for `loadedAt`; tests pass a fixed one. */
  readonly now?: () => Date;
}

/** Either a frozen snapshot (with its warnings) or every issue found, sorted; never a partial snapshot. */
export type CompileResult =
  | {
      readonly ok: true;
      readonly snapshot: Snapshot;
      readonly issues: readonly Issue[];
      /** The bundle says it may replace a much larger one (`guardrail_pdp: {allow_shrink: true}`; see the Activator). */
      readonly allowsShrink: boolean;
    }
  | { readonly ok: false; readonly issues: readonly Issue[] };

/**
 * Bundle -> Snapshot. Pure: parses and validates everything (reporting all issues at once),
 * compiles conditions, inheritance chains and the attachment index, and derives the revision from
 * the content hash and the mode. Errors reject the whole bundle. Cut into steps of a millisecond or
 * less (a policy, an attachment, a bounded amount of chain building): `finish(compile(...))` runs them back to back,
 * the activator's `runSliced` lets RPCs run between them. The bundle must not change meanwhile
 * (Bundles are immutable).
 */
export function* compile(bundle: Bundle, options: CompileOptions): Steps<CompileResult> {
  const { parsed, issues } = yield* parseBundle(bundle);
  yield;
  issues.push(...(yield* validateBundle(bundle, parsed, options.mode)));
  yield;

  const conditions = new Map<string, CompiledCondition>();
  // Equal conditions compile once and are shared (their regexes and memo tables with them).
  const conditionCache: ConditionCache = new Map();
  for (const policy of parsed.policies) {
    if (policy.condition === undefined) continue;
    const condition = compileCondition(policy.condition, conditionCache, options.guardrailEnv?.onPatternTimeout);
    conditions.set(policy.name, condition);
    for (const problem of condition.problems) issues.push(conditionIssue(bundle, policy.name, problem, options.mode));
    yield;
  }

  const guardrailOptions = {
    env: options.guardrailEnv ?? {},
    mode: options.mode,
    lookupEnv: options.lookupEnv,
    requireExecutable: options.requireExecutable,
    files: bundle.files,
  };
  const guardrails = compileGuardrails(parsed.guardrails, guardrailOptions, (spec, severity, rule, message, path) =>
    issues.push(issueAt(bundle, severity, rule, message, ['guardrails', spec.index, 'litellm_params', ...path])),
  );
  yield;

  issues.sort(compareIssues);
  if (issues.some((i) => i.severity === 'error')) return { ok: false, issues: Object.freeze(issues) };

  const specs = new Map(parsed.policies.map((p) => [p.name, p] as const));
  const policies: Map<string, CompiledPolicy> = yield* compilePolicies(specs, conditions);
  yield;
  const attachments = yield* buildAttachmentIndex(parsed.attachments);
  const versions = new Map(parsed.versions.map((v) => [v.id, v] as const));
  const warnings = Object.freeze(issues);
  const snapshot: Snapshot = Object.freeze({
    revision: revisionOf(bundle.hash, options.mode),
    origin: bundle.origin,
    loadedAt: (options.now ?? (() => new Date()))(),
    mode: options.mode,
    policies,
    attachments,
    guardrails,
    versions,
    withVersions: createVersionOverlay(policies, specs, conditions, versions, options.guardrailEnv?.onPatternTimeout),
    warnings,
  });
  return { ok: true, snapshot, issues: warnings, allowsShrink: parsed.allowsShrink };
}

/** The revision of a bundle compiled in a mode: 16 hex digits of sha256(mode, content hash). */
export function revisionOf(hash: string, mode: ValidationMode): string {
  return createHash('sha256').update(`${mode}\n${hash}`).digest('hex').slice(0, 16);
}

function conditionIssue(bundle: Bundle, policy: string, p: ConditionProblem, mode: ValidationMode): Issue {
  const path = ['policies', policy, 'condition', 'model', ...(p.index === undefined ? [] : [p.index])];
  if (p.reason === 'invalid') {
    const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' is not a valid Python regex (${p.message}); as in LiteLLM it matches only the model named exactly ${JSON.stringify(p.pattern)}`;
    return issueAt(bundle, 'warning', 'invalid_condition', message, path);
  }
  if (p.reason === 'unsafe') {
    const outcome =
      mode === 'strict'
        ? 'the bundle is rejected'
        : `compat mode runs it only under a time budget (${CONDITION_BUDGET_MS} ms per request), and a model it cannot decide within the budget does not match (LiteLLM would keep trying)`;
    const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' can backtrack catastrophically (${p.message}); ${outcome}`;
    return issueAt(bundle, mode === 'strict' ? 'error' : 'warning', 'unsafe_regex', message, path);
  }
  const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' uses Python regex syntax the sidecar cannot evaluate (${p.message}); rewrite it${mode === 'compat' ? '; until then it matches only the model named exactly like the pattern' : ''}`;
  return issueAt(bundle, mode === 'strict' ? 'error' : 'warning', 'invalid_condition', message, path);
}
