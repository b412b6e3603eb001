import type { Bundle, DocPath } from '../model/bundle.js';
import { compareIssues, type Issue, type IssueRule, type Severity } from '../model/issue.js';
import type { PolicySpec, ValidationMode } from '../model/policy.js';
import type { ParsedBundle } from './parse/parse.js';
import { issueAt } from './issues.js';
import type { Steps } from '../steps.js';

/** LiteLLM's validator stops an inheritance walk after this many hops (policy_validator.py). */
const MAX_DEPTH = 100;

/**
 * LiteLLM's startup validator (docs/semantics.md §10) with its rule names and messages, plus our
 * warnings for attachments to undefined policies. Its errors are errors in `strict` mode and
 * warnings in `compat` mode (LiteLLM's db sync never validates). Policies that failed to parse
 * (already reported) count as defined. Returns every issue, sorted. Steps: one per policy and
 * attachment.
 */
export function* validateBundle(bundle: Bundle, parsed: ParsedBundle, mode: ValidationMode): Steps<Issue[]> {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const report = (severity: Severity, rule: IssueRule, message: string, path: DocPath): void => {
    const issue = issueAt(bundle, severity, rule, message, path);
    // Every walk that reaches a missing parent reports it again in LiteLLM: once is enough.
    const key = `${issue.severity}\0${issue.rule}\0${issue.path}\0${issue.message}`;
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  };
  const blocking: Severity = mode === 'strict' ? 'error' : 'warning';
  const policies = new Map(parsed.policies.map((p) => [p.name, p] as const));
  const isDefined = (name: string): boolean => policies.has(name) || parsed.brokenPolicyNames.has(name);
  const registry = parsed.guardrailNames;

  if (registry.size === 0 && parsed.policies.some(namesGuardrails)) {
    const message =
      'guardrail names are not checked because the bundle defines no guardrails (LiteLLM checks guardrails.add, guardrails.remove and pipeline steps only against a non-empty guardrails: list)';
    report('warning', 'invalid_guardrail', message, ['guardrails']);
  }
  const isUnknown = (g: string): boolean => registry.size > 0 && !registry.has(g);

  for (const policy of parsed.policies) {
    const base = ['policies', policy.name];
    const addPath = parsed.legacyListPolicies.has(policy.name) ? [...base, 'guardrails'] : [...base, 'guardrails', 'add'];
    policy.add.forEach((g, i) => {
      if (isUnknown(g)) report(blocking, 'invalid_guardrail', `Guardrail '${g}' not found in guardrail registry`, [...addPath, i]);
    });
    policy.remove.forEach((g, i) => {
      const message = `Guardrail '${g}' in remove list not found in guardrail registry`;
      if (isUnknown(g)) report('warning', 'invalid_guardrail', message, [...base, 'guardrails', 'remove', i]);
    });
    const ownAdd = new Set(policy.add);
    policy.pipeline?.steps.forEach((step, i) => {
      const path = [...base, 'pipeline', 'steps', i, 'guardrail'];
      const g = step.guardrail;
      if (!ownAdd.has(g)) report(blocking, 'invalid_guardrail', `Pipeline step ${i} guardrail '${g}' is not in the policy's guardrails.add list`, path);
      if (isUnknown(g)) report(blocking, 'invalid_guardrail', `Pipeline step ${i} guardrail '${g}' not found in guardrail registry`, path);
    });
    for (const problem of walkInheritance(policy.name, policies, isDefined)) {
      report(blocking, problem.rule, problem.message, ['policies', problem.policy, 'inherit']);
    }
    yield;
  }

  // LiteLLM never validates attachments: one naming no defined policy silently never applies. One
  // without `policy` names the policy "" (LiteLLM's loader defaults it to ""), which applies if defined.
  for (const a of parsed.attachments) {
    const path = ['policy_attachments', a.index];
    if (a.policy === '') {
      if (!isDefined('')) report('warning', 'unknown_policy', 'attachment has no policy, and no policy named "" is defined: LiteLLM matches it but never applies anything', path);
    } else if (!isDefined(a.policy)) {
      report('warning', 'unknown_policy', `attachment names policy '${a.policy}', which is not defined; LiteLLM never applies it`, [...path, 'policy']);
    }
    yield;
  }
  return issues.sort(compareIssues);
}

interface InheritanceProblem {
  /** The policy LiteLLM names: the one holding the missing parent, the first revisited, or the one at the depth limit. */
  readonly policy: string;
  readonly rule: 'invalid_inheritance' | 'circular_inheritance';
  readonly message: string;
}

/**
 * LiteLLM's `_validate_inheritance_chain` from one policy, as a loop: the depth limit is checked
 * first, then the revisit; a name joins `visited` only once its parent is known to exist.
 * `visited` lists names in walk order (LiteLLM prints a set, in no fixed order).
 */
function walkInheritance(
  start: string,
  policies: ReadonlyMap<string, PolicySpec>,
  isDefined: (name: string) => boolean,
): InheritanceProblem[] {
  const visited = new Set<string>();
  let name = start;
  for (let depth = MAX_DEPTH; ; depth--) {
    if (depth <= 0) {
      return [{ policy: name, rule: 'circular_inheritance', message: `Inheritance chain too deep (exceeded max depth of ${MAX_DEPTH})` }];
    }
    if (visited.has(name)) {
      const message = `Circular inheritance detected: ${[...visited].join(' -> ')} -> ${name}`;
      return [{ policy: name, rule: 'circular_inheritance', message }];
    }
    const parent = policies.get(name)?.inherit;
    if (!parent) return [];
    if (!isDefined(parent)) return [{ policy: name, rule: 'invalid_inheritance', message: `Parent policy '${parent}' not found` }];
    visited.add(name);
    name = parent;
  }
}

function namesGuardrails(p: PolicySpec): boolean {
  return p.add.length > 0 || p.remove.length > 0 || (p.pipeline?.steps.length ?? 0) > 0;
}
