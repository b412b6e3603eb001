// Bounded matching. V8's irregexp is a backtracking matcher, and nothing in JavaScript can stop a
// RegExp once it runs: a pattern and a subject that backtrack for seconds hold the event loop for
// seconds. A script run by node:vm with a `timeout` can be stopped: Node starts a watchdog thread
// that terminates the script when the time is up, and the call throws. The script here only calls
// back into this module, so what it runs is ordinary code of the main context (regexes, closures).
//
// A watchdog costs ~75 µs per call (a thread is started and joined), against ~0.03 µs for testing a
// short model against a simple regex: callers use it per unit of risky work (a condition memo miss
// on a long model or an unsafe pattern, a content-filter step with custom patterns), never per
// regex call. No V8 flag is needed: V8's fallback to its linear engine on excessive backtracking
// (--enable-experimental-regexp-engine-on-excessive-backtracks) does not apply to the `v` flag our
// translated patterns use, so it would bound nothing here.

import vm from 'node:vm';

/** What `runBounded` returns when the budget ran out before the function returned. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** A pattern that ran out of its time budget (config text only: never the model or prompt it ran on). */
export interface PatternTimeout {
  /** A condition's model pattern, or a content filter's custom pattern. */
  readonly use: 'condition' | 'content_filter';
  /** The pattern as written in the bundle. */
  readonly pattern: string;
  /** The guardrail (content filter) whose pattern it is. */
  readonly guardrail?: string;
  /** The budget it ran out of, in milliseconds. */
  readonly budgetMs: number;
}

/** Told when a pattern runs out of its time budget; callers report each pattern once. */
export type PatternTimeoutListener = (event: PatternTimeout) => void;

let job: (() => unknown) | undefined;
let result: unknown;
let isRunning = false;
const context = vm.createContext({
  run: (): void => {
    result = (job as () => unknown)();
  },
});
const script = new vm.Script('run()', { filename: 'guardrail-pdp/bounded-regex' });

// A budget is wall time, so a run can time out because the thread was not scheduled (a loaded
// machine, a GC pause) rather than because the regex backtracked. Such a run used little CPU: it is
// run again, up to this many times in all. A backtracking run uses CPU for its whole budget.
const MAX_ATTEMPTS = 3;

/**
 * Runs `fn` and returns its result, or TIMED_OUT if it was still running after `budgetMs`
 * (rounded up to a whole millisecond, at least 1; starting the watchdog takes a good part of a
 * millisecond on a busy machine, so budgets of a few milliseconds or more are meant). It is then
 * stopped wherever it was, so `fn` must leave no shared state half-updated (regexes' lastIndex is
 * reset by every caller before use), and it must give the same result when run again: a run that
 * timed out having used less than half its budget in CPU time (the process was starved, not
 * matching) is retried. Exceptions from `fn` propagate. Called from inside another bounded run, it
 * runs `fn` directly: the outer budget bounds it.
 */
export function runBounded<T>(fn: () => T, budgetMs: number): T | typeof TIMED_OUT {
  if (isRunning) return fn();
  const timeout = Math.max(1, Math.ceil(budgetMs));
  isRunning = true;
  job = fn;
  try {
    for (let attempt = 1; ; attempt++) {
      const cpuBefore = process.cpuUsage();
      try {
        script.runInContext(context, { timeout });
        return result as T;
      } catch (e) {
        if ((e as { code?: unknown } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
        const cpu = process.cpuUsage(cpuBefore);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        if (cpuMs >= timeout / 2 || attempt >= MAX_ATTEMPTS) return TIMED_OUT;
      }
    }
  } finally {
    isRunning = false;
    job = undefined;
    result = undefined;
  }
}
