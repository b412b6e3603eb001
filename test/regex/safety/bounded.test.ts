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

  it('runs a nested call directly, under the outer budget', () => {
    expect(runBounded(() => runBounded(() => 'inner', 5), 50)).toBe('inner');
    expect(runBounded(() => runBounded(() => /^(a+)+$/.test(`${'a'.repeat(40)}!`), 10_000), 20)).toBe(TIMED_OUT);
  });
});
