import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ActivationEvent, ActivationEvents } from '../../activation/activator.js';
import type { WatchEvent } from '../../gen/guardrail/pdp/v1/watch.js';
import type { Snapshot } from '../../model/snapshot.js';
import { decodeWatchRequest } from '../convert/encoded.js';
import { toActivatedEvent, toWatchEvent } from '../convert/watch-event.js';
import { toStatus } from '../status.js';

/** One server-side Watch call; its request arrives as bytes (see EncodedDecisionService). */
export type WatchCall = ServerWritableStream<Buffer, WatchEvent>;

/**
 * The open Watch streams of one server. It subscribes to activation events once and writes each
 * event, converted once, to every open stream, so many watchers cost one listener and one write
 * each. `close()` ends every stream with status OK, so a server shutdown never waits on them.
 */
export class WatchStreams {
  readonly #open = new Set<WatchCall>();
  readonly #unsubscribe: () => void;
  #isClosed = false;

  constructor(events: ActivationEvents) {
    this.#unsubscribe = events.subscribe((event) => this.#broadcast(event));
  }

  /** How many Watch streams are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Serves one Watch call: first `current` as ACTIVATED (unless the client already knows its
   * revision), then one event per activation and per failed activation, until the client goes.
   * A request that does not decode ends the call with INVALID_ARGUMENT.
   */
  open(call: WatchCall, current: Snapshot | undefined): void {
    if (this.#isClosed) {
      call.end();
      return;
    }
    let knownRevision: string;
    try {
      knownRevision = decodeWatchRequest(call.request).knownRevision;
    } catch (e) {
      call.emit('error', toStatus(e)); // grpc-js sends it as the call's status
      return;
    }
    this.#open.add(call);
    const remove = (): void => {
      this.#open.delete(call);
    };
    call.on('cancelled', remove);
    call.on('close', remove);
    call.on('error', remove);
    if (current !== undefined && current.revision !== knownRevision)
      call.write(toActivatedEvent(current, current.loadedAt, current.warnings));
  }

  /** Stops listening and ends every open stream (status OK); later calls end at once. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#unsubscribe();
    const calls = [...this.#open];
    this.#open.clear();
    for (const call of calls) call.end();
  }

  #broadcast(event: ActivationEvent): void {
    // An attempt that kept the serving revision changes nothing a watcher could see.
    if (this.#open.size === 0 || event.kind === 'unchanged') return;
    const message = toWatchEvent(event);
    for (const call of this.#open) call.write(message);
  }
}
