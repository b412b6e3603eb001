import type { ConditionSpec } from '../model/policy.js';
import { memoByModel } from './memo.js';
import { compilePythonFullmatch } from '../regex/python/python-regex.js';
import { checkRegexSafety } from '../regex/safety/check.js';

/** A problem with one condition pattern, for the caller to turn into a located issue. */
export interface ConditionProblem {
  /** Index in a list condition, undefined for a single string. */
  readonly index: number | undefined;
  readonly pattern: string;
  /**
   * 'invalid': Python rejects it, so it matches only literally (as LiteLLM). 'unsupported': valid Python
   * we cannot run. 'unsafe': it runs, but can backtrack catastrophically (`message` says why).
   */
  readonly reason: 'invalid' | 'unsupported' | 'unsafe';
  readonly message: string;
}

export interface CompiledCondition {
  /** LiteLLM's condition evaluator (§2), memoized per model string. */
  readonly test: (model: string | undefined) => boolean;
  /** True when the answer does not depend on the model (no condition, or `model: null`). */
  readonly isConstant: boolean;
  readonly problems: readonly ConditionProblem[];
}

// The check is a pure function of the pattern and costs 10-500 µs, while a bundle repeats the same few
// patterns across many policies (and reloads repeat them all): one bounded table for the process.
const safetyOf = memoByModel((pattern) => (pattern === undefined ? undefined : checkRegexSafety(pattern)));

const ALWAYS: CompiledCondition = Object.freeze({ test: () => true, isConstant: true, problems: [] });

/** Compiled conditions by their spec (see `compileCondition`); one per compile, dropped with it. */
export type ConditionCache = Map<string, CompiledCondition>;

/**
 * Compiles a policy condition once (§2): no condition or `model: null` always matches; a missing
 * request model never matches otherwise; a list matches if any element does (an empty list never);
 * an element matches by exact string first, then by Python `re.fullmatch`. A pattern that can
 * backtrack catastrophically is reported as an 'unsafe' problem and still compiled (the caller
 * decides whether the bundle may load).
 *
 * With a `cache`, equal specs get the same (frozen, pure) CompiledCondition: a bundle repeats a few
 * conditions across thousands of policies, and each copy would hold its regexes and a memo table.
 */
export function compileCondition(spec: ConditionSpec | undefined, cache?: ConditionCache): CompiledCondition {
  if (spec === undefined || spec.model === null) return ALWAYS;
  if (cache === undefined) return compileModelCondition(spec.model);
  // JSON tells a string from a one-element list: their problems differ in `index`.
  const key = JSON.stringify(spec.model);
  let compiled = cache.get(key);
  if (compiled === undefined) cache.set(key, (compiled = compileModelCondition(spec.model)));
  return compiled;
}

function compileModelCondition(spec: string | readonly string[]): CompiledCondition {
  const patterns = typeof spec === 'string' ? [spec] : spec;
  const problems: ConditionProblem[] = [];
  const regexes: ((s: string) => boolean)[] = [];
  patterns.forEach((pattern, i) => {
    const index = typeof spec === 'string' ? undefined : i;
    const compiled = compilePythonFullmatch(pattern);
    if (!compiled.ok) {
      problems.push({ index, pattern, reason: compiled.reason, message: compiled.message });
      return;
    }
    regexes.push(compiled.fullmatch);
    const unsafe = safetyOf(pattern);
    if (unsafe !== undefined) problems.push({ index, pattern, reason: 'unsafe', message: unsafe });
  });
  const exact = new Set(patterns);
  const evaluate = (model: string | undefined): boolean => {
    if (model === undefined) return false;
    if (exact.has(model)) return true;
    for (const fullmatch of regexes) if (fullmatch(model)) return true;
    return false;
  };
  return Object.freeze({ test: memoByModel(evaluate), isConstant: false, problems });
}
