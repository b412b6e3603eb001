import { describe, expect, it } from 'vitest';
import { runBounded, TIMED_OUT } from '../../../src/regex/safety/bounded.js';

describe('runBounded', () => {
  it('returns what the function returns', () => {
    expect(runBounded(() => new RegExp('^gpt-4.*$', 'v').test('gpt-4o'), 50)).toBe(true);
    expect(runBounded(() => 'done', 20)).toBe('done');
  });

  it('stops a regex that backtracks past the budget and says so', () => {
    const started = performance.now();
    expect(runBounded(() => /^(a+)+$/.test(`${'a'.repeat(40)}!`), 20)).toBe(TIMED_OUT);
    expect(performance.now() - started).toBeLessThan(1_000); // unbounded, this takes days
    // The watchdog is per call: the next one runs normally.
    expect(runBounded(() => /^(a+)+$/.test('aaa'), 20)).toBe(true);
  });

  it('lets exceptions through', () => {
    expect(() =>
      runBounded(() => {
        throw new RangeError('boom');
      }, 20),
    ).toThrow(RangeError);
    expect(runBounded(() => 1, 20)).toBe(1);
  });

  it('runs again, with more time, work that timed out without using the CPU (a starved process, not a backtracking regex)', () => {
    // Sleeping 25 ms stands for a thread that got no core for that long: it overruns a 10 ms budget
    // using almost no CPU. Three runs of 10 ms could never finish it; doubling the time does.
    const cell = new Int32Array(new SharedArrayBuffer(4));
    let runs = 0;
    const starved = (): string => {
      runs++;
      Atomics.wait(cell, 0, 0, 25);
      return 'finished';
    };
    expect(runBounded(starved, 10)).toBe('finished');
    expect(runs).toBeGreaterThanOrEqual(2);
    // Still bounded: a function that never finishes, even asleep, ends TIMED_OUT (4 runs: 10 + 20 + 40 + 80 ms).
    runs = 0;
    const started = performance.now();
    const forever = (): string => {
      runs++;
      Atomics.wait(cell, 0, 0, 200);
      return 'never';
    };
    expect(runBounded(forever, 10)).toBe(TIMED_OUT);
    expect(runs).toBe(4);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('runs a nested call directly, under the outer budget', () => {
    expect(runBounded(() => runBounded(() => 'inner', 5), 50)).toBe('inner');
    expect(runBounded(() => runBounded(() => /^(a+)+$/.test(`${'a'.repeat(40)}!`), 10_000), 20)).toBe(TIMED_OUT);
  });
});
