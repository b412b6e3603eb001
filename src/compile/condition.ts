import type { ConditionSpec } from '../model/policy.js';
import { memoByModel } from './memo.js';
import { runBounded, TIMED_OUT, type PatternTimeoutListener } from '../regex/safety/bounded.js';
import { compilePythonFullmatch } from '../regex/python/python-regex.js';
import { analyzeRegexSafety, type RegexSafety } from '../regex/safety/check.js';

/** A problem with one condition pattern, for the caller to turn into a located issue. */
export interface ConditionProblem {
  /** Index in a list condition, undefined for a single string. */
  readonly index: number | undefined;
  readonly pattern: string;
  /**
   * 'invalid': Python rejects it, so it matches only literally (as LiteLLM). 'unsupported': valid Python
   * we cannot run. 'unsafe': it can backtrack catastrophically (`message` says why); it runs only
   * under the time budget (see {@link CONDITION_BUDGET_MS}).
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
const safetyOf = memoByModel((pattern): RegexSafety => analyzeRegexSafety(pattern ?? ''));

/**
 * Models up to this length run directly against a pattern the safety check accepts but whose
 * fullmatch is not linear (degree 1: two loops that can split the same text, at worst quadratic:
 * 3-9 ms at most on crafted models of this length in test/robustness/regex-fuzz.test.ts, against
 * 350 ms at 4096). Longer models run under the watchdog. Linear patterns always run directly.
 */
export const DIRECT_MAX_MODEL_LENGTH = 256;

/**
 * The time one model may spend in watchdog-run patterns (unsafe ones, and non-linear ones on a model
 * longer than DIRECT_MAX_MODEL_LENGTH) in one event-loop turn, i.e. in one Resolve: what is left of it
 * is the budget of the next such pattern. A pattern that runs out of it does not match.
 */
export const CONDITION_BUDGET_MS = 20;

/** How a pattern runs: directly, directly only on short models, or always under the watchdog. */
type Cost = 'linear' | 'polynomial' | 'unsafe';

interface ConditionRegex {
  readonly pattern: string;
  readonly fullmatch: (s: string) => boolean;
  readonly cost: Cost;
}

// The budget of the model being evaluated. A Resolve evaluates its conditions for one model back to
// back, synchronously; the budget is renewed for another model, and on the next event-loop turn.
let budgetModel: string | undefined;
let budgetLeftMs = 0;
let isRenewalPending = false;

function renewBudget(): void {
  budgetModel = undefined;
  isRenewalPending = false;
}

/** Runs a pattern under the watchdog, within the model's budget; undefined when it ran out (no match). */
function watched(regex: ConditionRegex, model: string): boolean | undefined {
  if (budgetModel !== model) {
    budgetModel = model;
    budgetLeftMs = CONDITION_BUDGET_MS;
    if (!isRenewalPending) {
      isRenewalPending = true;
      setImmediate(renewBudget).unref();
    }
  }
  if (budgetLeftMs <= 0) return undefined;
  const started = performance.now();
  const matched = runBounded(() => regex.fullmatch(model), budgetLeftMs);
  budgetLeftMs -= performance.now() - started;
  return matched === TIMED_OUT ? undefined : matched;
}

const ALWAYS: CompiledCondition = Object.freeze({ test: () => true, isConstant: true, problems: [] });

/** Compiled conditions by their spec (see `compileCondition`); one per compile, dropped with it. */
export type ConditionCache = Map<string, CompiledCondition>;

/**
 * Compiles a policy condition once (§2): no condition or `model: null` always matches; a missing
 * request model never matches otherwise; a list matches if any element does (an empty list never);
 * an element matches by exact string first, then by Python `re.fullmatch`. A pattern that can
 * backtrack catastrophically is reported as an 'unsafe' problem and still compiled (the caller
 * decides whether the bundle may load); it then runs only under a time budget, as do other
 * non-linear patterns on models longer than DIRECT_MAX_MODEL_LENGTH: a model that exhausts it
 * does not match, and `onTimeout` is told (once per pattern).
 *
 * With a `cache`, equal specs get the same (frozen, pure) CompiledCondition: a bundle repeats a few
 * conditions across thousands of policies, and each copy would hold its regexes and a memo table.
 */
export function compileCondition(spec: ConditionSpec | undefined, cache?: ConditionCache, onTimeout?: PatternTimeoutListener): CompiledCondition {
  if (spec === undefined || spec.model === null) return ALWAYS;
  if (cache === undefined) return compileModelCondition(spec.model, onTimeout);
  // JSON tells a string from a one-element list: their problems differ in `index`.
  const key = JSON.stringify(spec.model);
  let compiled = cache.get(key);
  if (compiled === undefined) cache.set(key, (compiled = compileModelCondition(spec.model, onTimeout)));
  return compiled;
}

function compileModelCondition(spec: string | readonly string[], onTimeout: PatternTimeoutListener | undefined): CompiledCondition {
  const patterns = typeof spec === 'string' ? [spec] : spec;
  const problems: ConditionProblem[] = [];
  const regexes: ConditionRegex[] = [];
  patterns.forEach((pattern, i) => {
    const index = typeof spec === 'string' ? undefined : i;
    const compiled = compilePythonFullmatch(pattern);
    if (!compiled.ok) {
      problems.push({ index, pattern, reason: compiled.reason, message: compiled.message });
      return;
    }
    const { unsafe, linear } = safetyOf(pattern);
    if (unsafe !== undefined) problems.push({ index, pattern, reason: 'unsafe', message: unsafe });
    regexes.push({ pattern, fullmatch: compiled.fullmatch, cost: unsafe !== undefined ? 'unsafe' : linear ? 'linear' : 'polynomial' });
  });
  const exact = new Set(patterns);
  const reported = new Set<string>();
  const evaluate = (model: string | undefined): boolean => {
    if (model === undefined) return false;
    if (exact.has(model)) return true;
    const isLong = model.length > DIRECT_MAX_MODEL_LENGTH;
    for (const regex of regexes) {
      if (regex.cost === 'linear' || (regex.cost === 'polynomial' && !isLong)) {
        if (regex.fullmatch(model)) return true;
        continue;
      }
      const matched = watched(regex, model);
      if (matched === true) return true;
      if (matched === undefined && !reported.has(regex.pattern)) {
        reported.add(regex.pattern);
        onTimeout?.({ use: 'condition', pattern: regex.pattern, budgetMs: CONDITION_BUDGET_MS });
      }
    }
    return false;
  };
  return Object.freeze({ test: memoByModel(evaluate), isConstant: false, problems });
}
