/**
 * A computation cut into steps: a generator that yields (nothing) between units of work and returns
 * its result. Whoever drives it decides what happens between steps: `finish` runs them back to
 * back (the synchronous `compile`); the activator lets the event loop run every few milliseconds.
 * Steps must not depend on what happens between them, so both drivers give the same result.
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs every step now and returns the result. */
export function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
