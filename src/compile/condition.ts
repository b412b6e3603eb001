import type { ConditionSpec } from '../model/policy.js';
import { memoByModel } from './memo.js';
import { compilePythonFullmatch } from '../regex/python-regex.js';

/** A problem with one condition pattern, for the caller to turn into a located issue. */
export interface ConditionProblem {
  /** Index in a list condition, undefined for a single string. */
  readonly index: number | undefined;
  readonly pattern: string;
  /** 'invalid': Python rejects it, so it matches only literally (as LiteLLM). 'unsupported': valid Python we cannot run. */
  readonly reason: 'invalid' | 'unsupported';
  readonly message: string;
}

export interface CompiledCondition {
  /** LiteLLM's condition evaluator (§2), memoized per model string. */
  readonly test: (model: string | undefined) => boolean;
  /** True when the answer does not depend on the model (no condition, or `model: null`). */
  readonly isConstant: boolean;
  readonly problems: readonly ConditionProblem[];
}

const ALWAYS: CompiledCondition = Object.freeze({ test: () => true, isConstant: true, problems: [] });

/**
 * Compiles a policy condition once (§2): no condition or `model: null` always matches; a missing
 * request model never matches otherwise; a list matches if any element does (an empty list never);
 * an element matches by exact string first, then by Python `re.fullmatch`.
 */
export function compileCondition(spec: ConditionSpec | undefined): CompiledCondition {
  if (spec === undefined || spec.model === null) return ALWAYS;
  const patterns = typeof spec.model === 'string' ? [spec.model] : spec.model;
  const problems: ConditionProblem[] = [];
  const regexes: ((s: string) => boolean)[] = [];
  patterns.forEach((pattern, i) => {
    const compiled = compilePythonFullmatch(pattern);
    if (compiled.ok) regexes.push(compiled.fullmatch);
    else
      problems.push({
        index: typeof spec.model === 'string' ? undefined : i,
        pattern,
        reason: compiled.reason,
        message: compiled.message,
      });
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
