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

import { openSync, readFileSync, readSync } from 'node:fs';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

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
// machine, a GC pause) rather than because the regex backtracked. A run that timed out having had
// less than half its budget in CPU time was starved: it is run again, up to this many times in all,
// with twice the time while that stays within STARVED_MAX_MS (scheduling delays are tens of
// milliseconds; a small budget is what they overrun). A backtracking run on a core of its own stops
// at the first attempt; only a starved process waits longer (a 10 ms budget: at most 150 ms of wall
// time in all).
const MAX_ATTEMPTS = 4;
const STARVED_MAX_MS = 100;

// The CPU time of this thread alone, in ms: on Linux, the first field of /proc/thread-self/schedstat
// (nanoseconds on a CPU). process.cpuUsage() counts every thread of the process (V8's GC and
// compiler threads, a loader thread, other workers), which on a loaded machine can make a starved
// run look like a slow one; it is the fallback where schedstat cannot be read. The main thread keeps
// the file open (one pread, ~2 µs); a worker thread, which may end, opens it each time (~20 µs).
const SCHEDSTAT = '/proc/thread-self/schedstat';
const schedstatBytes = Buffer.alloc(64);
const threadCpuMs: () => number = chooseThreadClock();

function chooseThreadClock(): () => number {
  const processCpuMs = (): number => {
    const cpu = process.cpuUsage();
    return (cpu.user + cpu.system) / 1000;
  };
  try {
    if (isMainThread) {
      const fd = openSync(SCHEDSTAT, 'r');
      const read = (): number => schedstatMs(schedstatBytes, readSync(fd, schedstatBytes, 0, schedstatBytes.length, 0));
      return Number.isFinite(read()) ? read : processCpuMs;
    }
    const read = (): number => {
      const bytes = readFileSync(SCHEDSTAT);
      return schedstatMs(bytes, bytes.length);
    };
    return Number.isFinite(read()) ? read : processCpuMs;
  } catch {
    return processCpuMs;
  }
}

function schedstatMs(bytes: Buffer, length: number): number {
  const text = bytes.toString('latin1', 0, length);
  return Number(text.slice(0, text.indexOf(' '))) / 1e6;
}

/**
 * Runs `fn` and returns its result, or TIMED_OUT if it was still running after `budgetMs`
 * (rounded up to a whole millisecond, at least 1; starting the watchdog takes a good part of a
 * millisecond on a busy machine, so budgets of a few milliseconds or more are meant). It is then
 * stopped wherever it was, so `fn` must leave no shared state half-updated (regexes' lastIndex is
 * reset by every caller before use), and it must give the same result when run again: a run that
 * timed out having had less than half its budget in CPU time (the thread was starved, not matching)
 * is retried, with twice the time up to 100 ms, 4 runs in all. Exceptions from `fn` propagate. Called from inside another bounded run, it
 * runs `fn` directly: the outer budget bounds it.
 */
export function runBounded<T>(fn: () => T, budgetMs: number): T | typeof TIMED_OUT {
  if (isRunning) return fn();
  const budget = Math.max(1, Math.ceil(budgetMs));
  let timeout = budget;
  isRunning = true;
  job = fn;
  try {
    for (let attempt = 1; ; attempt++) {
      const cpuBefore = threadCpuMs();
      try {
        script.runInContext(context, { timeout });
        return result as T;
      } catch (e) {
        if ((e as { code?: unknown } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
        if (threadCpuMs() - cpuBefore >= budget / 2 || attempt >= MAX_ATTEMPTS) return TIMED_OUT;
        timeout = Math.max(timeout, Math.min(2 * timeout, STARVED_MAX_MS));
      }
    }
  } finally {
    isRunning = false;
    job = undefined;
    result = undefined;
  }
}
