import { Metadata, type Client, type ClientReadableStream } from '@grpc/grpc-js';
import { DecisionServiceService } from '../gen/guardrail/pdp/v1/decision_service.js';
import { WatchEvent_Kind, type WatchEvent } from '../gen/guardrail/pdp/v1/watch.js';

const WATCH = DecisionServiceService.watch;

/**
 * The cache's one background Watch stream: which revision the sidecar serves, as far as this
 * client knows, and whether it knows it now.
 *
 * - `isUp` turns true with the first ACTIVATED event of a stream and false when the stream fails
 *   or ends; while it is false the cache must be bypassed.
 * - `revision` is the revision of the last ACTIVATED event received.
 * - `epoch` counts ACTIVATED events received. A call that started at epoch E and ends at a later
 *   epoch may have been answered by a snapshot older than `revision` (the server swapped while
 *   the answer was on its way); the client takes such an answer only if it carries `revision`.
 *
 * A failed or ended stream is reopened after a backoff (doubling from `initialMs` to `maxMs`, with
 * jitter, reset by an event), with `waitForReady` so a sidecar that is down is waited for, not
 * hammered.
 */
export class RevisionWatch {
  isUp = false;
  revision = '';
  epoch = 0;

  readonly #client: Client;
  readonly #onActivated: (revision: string) => void;
  readonly #initialMs: number;
  readonly #maxMs: number;
  #delayMs: number;
  #call: ClientReadableStream<WatchEvent> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #isStopped = false;
  readonly #upWaiters = new Set<() => void>();

  constructor(client: Client, onActivated: (revision: string) => void, backoff: { readonly initialMs: number; readonly maxMs: number }) {
    this.#client = client;
    this.#onActivated = onActivated;
    this.#initialMs = backoff.initialMs;
    this.#maxMs = backoff.maxMs;
    this.#delayMs = backoff.initialMs;
  }

  start(): void {
    if (this.#isStopped || this.#call !== undefined) return;
    const call = this.#client.makeServerStreamRequest(WATCH.path, WATCH.requestSerialize, WATCH.responseDeserialize, { knownRevision: '' }, new Metadata({ waitForReady: true }));
    this.#call = call;
    call.on('data', (event: WatchEvent) => {
      if (call !== this.#call || event.kind !== WatchEvent_Kind.ACTIVATED) return;
      this.revision = event.revision;
      this.epoch++;
      this.isUp = true;
      this.#delayMs = this.#initialMs;
      this.#onActivated(event.revision);
      for (const w of this.#upWaiters) w();
      this.#upWaiters.clear();
    });
    const down = (): void => {
      if (call !== this.#call) return;
      this.#call = undefined;
      this.isUp = false;
      if (this.#isStopped) return;
      const delay = this.#delayMs * (0.5 + Math.random() / 2);
      this.#delayMs = Math.min(this.#delayMs * 2, this.#maxMs);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.start();
      }, delay);
      this.#timer.unref();
    };
    call.on('error', down); // failed (the error's status follows; nothing else to do with it)
    call.on('end', down); // the server ended it (status OK: shutting down)
  }

  /** Resolves once the stream is up (now, or when it comes up); the caller bounds the wait. */
  whenUp(): Promise<void> {
    if (this.isUp) return Promise.resolve();
    return new Promise((resolve) => this.#upWaiters.add(resolve));
  }

  stop(): void {
    this.#isStopped = true;
    this.isUp = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
  }
}
