import { createHash } from 'node:crypto';
import { compileGuardrails, type GuardrailEnv } from '../guardrails/index.js';
import type { Bundle } from '../model/bundle.js';
import { compareIssues, type Issue } from '../model/issue.js';
import type { PolicySpec, ValidationMode } from '../model/policy.js';
import type { CompiledPolicy, Snapshot } from '../model/snapshot.js';
import { attachmentIndexSteps } from './attachment-index.js';
import { compileCondition, type CompiledCondition, type ConditionCache, type ConditionProblem } from './condition.js';
import { issueAt } from './issues.js';
import { parseBundleSteps } from './parse/parse.js';
import { createPolicyCompiler } from './policies.js';
import { finish, type Steps } from './steps.js';
import { validateBundleSteps } from './validate.js';
import { createVersionOverlay } from './versions.js';

export interface CompileOptions {
  readonly mode: ValidationMode;
  /** What compiled guardrails use at run time (HTTP pool, observers); defaults apply when unset. */
  readonly guardrailEnv?: GuardrailEnv;
  /** Clock for `loadedAt`; tests pass a fixed one. */
  readonly now?: () => Date;
}

/** Either a frozen snapshot (with its warnings) or every issue found, sorted; never a partial snapshot. */
export type CompileResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly issues: readonly Issue[] };

/**
 * Bundle -> Snapshot. Pure and synchronous: parses and validates everything (reporting all issues
 * at once), compiles conditions, inheritance chains and the attachment index, and derives the
 * revision from the content hash and the mode. Errors reject the whole bundle.
 */
export function compile(bundle: Bundle, options: CompileOptions): CompileResult {
  return finish(compileSteps(bundle, options));
}

/** Policies compiled per step by `compileSteps`: about a millisecond's work. */
const POLICIES_PER_STEP = 200;

/**
 * `compile` cut into steps of a millisecond or less (a policy, an attachment, a chunk of
 * chains), so the activator can let RPCs run between them; `compile` runs the same steps back to
 * back. The bundle must not change while the steps run (Bundles are immutable).
 */
export function* compileSteps(bundle: Bundle, options: CompileOptions): Steps<CompileResult> {
  const { parsed, issues } = yield* parseBundleSteps(bundle);
  yield;
  issues.push(...(yield* validateBundleSteps(bundle, parsed, options.mode, brokenPolicyNames(bundle, parsed.policies))));
  yield;

  const conditions = new Map<string, CompiledCondition>();
  // Equal conditions compile once and are shared (their regexes and memo tables with them).
  const conditionCache: ConditionCache = new Map();
  for (const policy of parsed.policies) {
    if (policy.condition === undefined) continue;
    const condition = compileCondition(policy.condition, conditionCache);
    conditions.set(policy.name, condition);
    for (const problem of condition.problems) issues.push(conditionIssue(bundle, policy.name, problem, options.mode));
    yield;
  }

  const guardrails = compileGuardrails(parsed.guardrails, options.guardrailEnv ?? {}, options.mode, (spec, severity, rule, message, path) =>
    issues.push(issueAt(bundle, severity, rule, message, ['guardrails', spec.index, 'litellm_params', ...path])),
  );
  yield;

  issues.sort(compareIssues);
  if (issues.some((i) => i.severity === 'error')) return { ok: false, issues: Object.freeze(issues) };

  const specs = new Map(parsed.policies.map((p) => [p.name, p] as const));
  const policies = new Map<string, CompiledPolicy>();
  const compilePolicies = createPolicyCompiler(specs, conditions);
  for (let i = 0; i < parsed.policies.length; i += POLICIES_PER_STEP) {
    const names = parsed.policies.slice(i, i + POLICIES_PER_STEP).map((p) => p.name);
    for (const [name, policy] of compilePolicies(names)) policies.set(name, policy);
    yield;
  }
  const attachments = yield* attachmentIndexSteps(parsed.attachments);
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
    withVersions: createVersionOverlay(policies, specs, conditions, versions),
    warnings,
  });
  return { ok: true, snapshot, issues: warnings };
}

/** The revision of a bundle compiled in a mode: 16 hex digits of sha256(mode, content hash). */
export function revisionOf(hash: string, mode: ValidationMode): string {
  return createHash('sha256').update(`${mode}\n${hash}`).digest('hex').slice(0, 16);
}

/** Names under `policies:` that failed to parse: they still count as defined for parent checks. */
function brokenPolicyNames(bundle: Bundle, parsed: readonly PolicySpec[]): Set<string> {
  const data = bundle.data as { policies?: unknown } | null;
  const raw = data !== null && typeof data === 'object' ? data.policies : undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return new Set();
  const ok = new Set(parsed.map((p) => p.name));
  return new Set(Object.keys(raw).filter((n) => !ok.has(n)));
}

function conditionIssue(bundle: Bundle, policy: string, p: ConditionProblem, mode: ValidationMode): Issue {
  const path = ['policies', policy, 'condition', 'model', ...(p.index === undefined ? [] : [p.index])];
  if (p.reason === 'invalid') {
    const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' is not a valid Python regex (${p.message}); as in LiteLLM it matches only the model named exactly ${JSON.stringify(p.pattern)}`;
    return issueAt(bundle, 'warning', 'invalid_condition', message, path);
  }
  if (p.reason === 'unsafe') {
    const outcome = mode === 'strict' ? 'the bundle is rejected' : 'compat mode still runs it, so a crafted model name can stall the sidecar';
    const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' can backtrack catastrophically (${p.message}); ${outcome}`;
    return issueAt(bundle, mode === 'strict' ? 'error' : 'warning', 'unsafe_regex', message, path);
  }
  const message = `condition pattern ${JSON.stringify(p.pattern)} of policy '${policy}' uses Python regex syntax the sidecar cannot evaluate (${p.message}); rewrite it${mode === 'compat' ? '; until then it matches only the model named exactly like the pattern' : ''}`;
  return issueAt(bundle, mode === 'strict' ? 'error' : 'warning', 'invalid_condition', message, path);
}
