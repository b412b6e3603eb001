import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import type { WatchEvent } from '../../src/gen/guardrail/pdp/v1/watch.js';

/** A Watch call with its events queued, so none is missed between awaits. */
export interface WatchReader {
  readonly call: ClientReadableStream<WatchEvent>;
  /** The next event; rejects if the stream ends or fails first, or after `timeoutMs`. */
  nextEvent(timeoutMs?: number): Promise<WatchEvent>;
  /** Events received and not yet taken by `nextEvent`. */
  readonly pending: readonly WatchEvent[];
  /** Resolves when the stream ends: `null` for a clean end (status OK), else the error. */
  readonly ended: Promise<ServiceError | null>;
  /** Cancels the call (its CANCELLED error is expected and swallowed). */
  cancel(): void;
}

/** Opens `Watch({ known_revision })` and queues its events. */
export function openWatch(client: DecisionServiceClient, knownRevision = ''): WatchReader {
  const call = client.watch({ knownRevision });
  const queue: WatchEvent[] = [];
  const waiters: { resolve: (e: WatchEvent) => void; reject: (e: Error) => void }[] = [];
  let finished: Error | undefined;
  const finish = (e: Error): void => {
    finished ??= e;
    for (const w of waiters.splice(0)) w.reject(e);
  };
  const ended = new Promise<ServiceError | null>((resolve) => {
    call.on('error', (e: ServiceError) => {
      finish(e);
      resolve(e);
    });
    call.on('status', (s: { code: status }) => {
      if (s.code !== status.OK) return;
      finish(new Error('the Watch stream ended'));
      resolve(null);
    });
  });
  call.on('data', (e: WatchEvent) => {
    const w = waiters.shift();
    if (w) w.resolve(e);
    else queue.push(e);
  });
  return {
    call,
    pending: queue,
    ended,
    nextEvent(timeoutMs = 5000) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (finished !== undefined) return Promise.reject(finished);
      return new Promise<WatchEvent>((resolve, reject) => {
        const waiter = {
          resolve: (e: WatchEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
          reject: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no Watch event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    cancel() {
      call.cancel();
    },
  };
}

/** The revision of the next Watch event. */
export async function nextRevision(reader: WatchReader, timeoutMs?: number): Promise<string> {
  return (await reader.nextEvent(timeoutMs)).revision;
}

/** Polls `predicate` until it holds or `timeoutMs` passes (then throws). */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
