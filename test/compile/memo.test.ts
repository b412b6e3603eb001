import { describe, expect, it } from 'vitest';
import { MEMO_BUDGET_BYTES, MEMO_LIMIT, MEMO_MAX_KEY_LENGTH, memoByModel, memoUsage } from '../../src/compile/memo.js';

/** A memoized identity-ish function and how many times it really ran. */
function counted(): { readonly f: (m: string | undefined) => string; readonly calls: () => number } {
  let calls = 0;
  const f = memoByModel((m) => {
    calls++;
    return `v:${m ?? ''}`;
  });
  return { f, calls: () => calls };
}

describe('memoByModel', () => {
  it('computes each model once, and a missing model once', () => {
    const { f, calls } = counted();
    expect([f('a'), f('a'), f(undefined), f(undefined), f('b')]).toEqual(['v:a', 'v:a', 'v:', 'v:', 'v:b']);
    expect(calls()).toBe(3);
  });

  it('holds at most MEMO_LIMIT entries per table: a full table is cleared', () => {
    const { f, calls } = counted();
    for (let i = 0; i < MEMO_LIMIT; i++) f(`m${i}`);
    f('m0');
    expect(calls()).toBe(MEMO_LIMIT);
    f('one more');
    f('m0');
    expect(calls()).toBe(MEMO_LIMIT + 2);
  });

  it('does not memoize models longer than MEMO_MAX_KEY_LENGTH, nor count them', () => {
    const { f, calls } = counted();
    const long = 'x'.repeat(MEMO_MAX_KEY_LENGTH + 1);
    const bytes = memoUsage().bytes;
    expect(f(long)).toBe(`v:${long}`);
    f(long);
    expect(calls()).toBe(2);
    expect(memoUsage().bytes).toBe(bytes);
    f('x'.repeat(MEMO_MAX_KEY_LENGTH));
    f('x'.repeat(MEMO_MAX_KEY_LENGTH));
    expect(calls()).toBe(3);
  });

  it('bounds what every table holds together: crossing MEMO_BUDGET_BYTES clears them all', () => {
    const first = counted();
    first.f('kept until the budget is crossed');
    const model = (i: number): string => `${i}-`.padEnd(MEMO_MAX_KEY_LENGTH, 'y');
    // Tables of MEMO_LIMIT entries of the longest memoized models, until the first table was cleared.
    let peak = 0;
    for (let t = 0; t < 64 && first.calls() === 1; t++) {
      const { f } = counted();
      for (let i = 0; i < MEMO_LIMIT - 1; i++) {
        f(model(i));
        peak = Math.max(peak, memoUsage().bytes);
      }
      first.f('kept until the budget is crossed');
    }
    expect(first.calls()).toBe(2);
    expect(peak).toBeLessThanOrEqual(MEMO_BUDGET_BYTES);
    expect(peak).toBeGreaterThan(MEMO_BUDGET_BYTES * 0.9);
  });
});
