import type { Snapshot } from '../model/snapshot.js';

/**
 * Holds the one active Snapshot. `swap` is a single reference assignment, so a reader that took
 * `current()` keeps a consistent snapshot for its whole call. Who wants to hear about swaps
 * subscribes to the Activator's events, which also say why.
 */
export class SnapshotHolder {
  #current: Snapshot | undefined;

  /** The active snapshot, or undefined before the first activation. */
  current(): Snapshot | undefined {
    return this.#current;
  }

  /** Makes `next` active. Only the Activator calls this. */
  swap(next: Snapshot): void {
    this.#current = next;
  }
}
