import type { Snapshot } from '../model/snapshot.js';

/**
 * Holds the one active Snapshot. `swap` is a single reference assignment, so a reader that took
 * `current()` keeps a consistent snapshot for its whole call.
 */
export class SnapshotHolder {
  #current: Snapshot | undefined;
  readonly #listeners = new Set<(snapshot: Snapshot) => void>();

  /** The active snapshot, or undefined before the first activation. */
  current(): Snapshot | undefined {
    return this.#current;
  }

  /** Makes `next` active and tells every subscriber. */
  swap(next: Snapshot): void {
    this.#current = next;
    for (const listener of this.#listeners) listener(next);
  }

  /** Subscribes to swaps; returns the unsubscribe function. */
  onSwap(listener: (snapshot: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
