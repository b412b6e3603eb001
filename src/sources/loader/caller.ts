import { Worker, type ResourceLimits } from 'node:worker_threads';
import { PdpError, type PdpErrorCode } from '../../errors.js';
import type { Bundle } from '../../model/bundle.js';
import type { Issue } from '../../model/issue.js';
import { runSliced } from '../../compile/steps.js';
import { bundleFromParts, type BundleParts } from './bundle-parts.js';

/** What a loader thread is asked to do: parse a bundle file's bytes, or read a db. */
export type LoadRequest =
  | { readonly kind: 'file'; readonly origin: string; readonly bytes: Uint8Array; readonly hash: string }
  | { readonly kind: 'db'; readonly path: string };

/** What a loader thread answers: the Bundle's parts, or the PdpError it threw (as plain data). */
export type LoadReply =
  | { readonly ok: true; readonly parts: BundleParts }
  | {
      readonly ok: false;
      readonly code: PdpErrorCode;
      readonly message: string;
      readonly issues: readonly Issue[];
      readonly cause: { name: string; message: string; stack?: string; code?: unknown } | undefined;
    };

/** Options of `loadInWorker`; tests use them to make a loader thread fail. */
export interface LoadInWorkerOptions {
  readonly resourceLimits?: ResourceLimits;
}

// Under vitest the sources run as TypeScript, which a worker thread cannot load, so it runs the
// build's copy, which vitest's global setup (test/global-setup.ts) builds from these sources first.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/sources/loader/thread.js', import.meta.url)
  : new URL('./thread.js', import.meta.url);

/**
 * Runs one load on a new worker thread, so that parsing (YAML, JSON and its locations) or reading a
 * db never blocks the event loop, then rebuilds the Bundle here in slices of a few milliseconds
 * (see `bundleFromParts`). The result equals what the same code returns in-thread. The thread ends
 * with the load (it is terminated once it answered); while it runs it keeps the process alive, as
 * any pending read does. The loader's own errors come back as the same PdpError; a thread that
 * crashes (e.g. out of memory) or exits without answering rejects with PdpError INTERNAL.
 */
export async function loadInWorker(request: LoadRequest, options: LoadInWorkerOptions = {}): Promise<Bundle> {
  const origin = request.kind === 'db' ? request.path : request.origin;
  const reply = await new Promise<LoadReply>((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: request, resourceLimits: options.resourceLimits });
    let isSettled = false;
    const settle = (fn: () => void): void => {
      if (isSettled) return;
      isSettled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: LoadReply) => settle(() => resolve(reply)));
    worker.once('error', (err) => settle(() => reject(crashed(origin, err.message, err))));
    worker.once('exit', (code) => settle(() => reject(crashed(origin, `it exited with code ${code} before answering`))));
  });
  if (reply.ok) return runSliced(bundleFromParts(reply.parts));
  const cause = reply.cause && Object.assign(new Error(reply.cause.message), reply.cause);
  throw new PdpError(reply.code, reply.message, { issues: reply.issues, cause });
}

function crashed(origin: string, reason: string, cause?: unknown): PdpError {
  return new PdpError('INTERNAL', `the loader thread for ${origin} failed: ${reason}; the bundle was not loaded`, { cause });
}
