import { describe, expect, it } from 'vitest';
import { finish, runSliced, type Steps } from '../src/steps.js';

/** Steps that each keep the thread busy for `busyMs`, recording their order; returns the count. */
function* busySteps(count: number, busyMs: number, order: number[]): Steps<number> {
  for (let i = 0; i < count; i++) {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {
      // busy, as a compile step is
    }
    order.push(i);
    yield;
  }
  return count;
}

describe('runSliced', () => {
  it('runs every step in order and returns the result', async () => {
    const order: number[] = [];
    await expect(runSliced(busySteps(20, 0, order))).resolves.toBe(20);
    expect(order).toEqual([...Array(20).keys()]);
  });

  it('gives the same result as finish', async () => {
    await expect(runSliced(busySteps(7, 0, []))).resolves.toBe(finish(busySteps(7, 0, [])));
  });

  it('lets other callbacks run between slices', async () => {
    let ticks = 0;
    let isRunning = true;
    const tick = (): void => {
      ticks++;
      if (isRunning) setImmediate(tick);
    };
    setImmediate(tick);
    // 30 steps of 1 ms in slices of 4 ms: the event loop gets a turn several times.
    await runSliced(busySteps(30, 1, []), 4);
    isRunning = false;
    expect(ticks).toBeGreaterThanOrEqual(4);
  });
});
