/**
 * A computation cut into steps: a generator that yields (nothing) between units of work and returns
 * its result. Whoever drives it decides what happens between steps: `finish` runs them back to back
 * (the CLI, tests); `runSliced` lets the event loop run every few milliseconds (the activator, the
 * loader's receiving end). Steps must not depend on what happens between them, so both drivers give
 * the same result. Every long piece of control-path work is written as steps, once.
 */
export type Steps<T> = Generator<void, T, void>;

/** How long `runSliced` works before letting RPCs run: well under the ~10 ms a call may wait. */
export const SLICE_MS = 4;

/** Runs every step now and returns the result. */
export function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs steps to the end in slices of about `sliceMs`, yielding to the event loop (setImmediate,
 * so pending I/O such as RPCs runs first) between slices. Same result as `finish(steps)`.
 */
export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
