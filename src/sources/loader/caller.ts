import { Worker, type ResourceLimits } from 'node:worker_threads';
import { PdpError, type PdpErrorCode } from '../../errors.js';
import type { Bundle } from '../../model/bundle.js';
import type { Issue } from '../../model/issue.js';
import { runSliced } from '../../steps.js';
import { bundleFromParts, type BundleParts } from './bundle-parts.js';

/** Where the files a bundle names are read from (see sources/referenced-files.ts); the bundle's own directory is implied. */
export interface ReferencedFilesRequest {
  /** LiteLLM's content filter categories directory, for built-in category names. */
  readonly categoriesDir?: string;
  /** The most bytes one named file may have. */
  readonly maxFileBytes?: number;
}

/**
 * What a loader thread is asked to do: parse a bundle file's bytes, or read a db; then read the
 * files the bundle names (relative to the file's or db's directory).
 */
export type LoadRequest = (
  | { readonly kind: 'file'; readonly origin: string; readonly bytes: Uint8Array; readonly hash: string }
  | { readonly kind: 'db'; readonly path: string }
) & { readonly files?: ReferencedFilesRequest };

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

/** Options of `loadInWorker`. */
export interface LoadInWorkerOptions {
  /**
   * The loader thread's heap (old generation) in MB; unset, Node's default (the CLI's one-shot
   * commands). A load that needs more fails with BUNDLE_INVALID. See `loaderLimits`.
   */
  readonly heapMb?: number;
  /** Raw limits, for tests that make a loader thread fail; `heapMb` wins. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * The loader thread's limits for a heap of `heapMb`: that much old generation and a small young
 * generation. Parsing YAML with the `yaml` package takes about 100 MB of heap per MB of YAML (a
 * 1.9 MB bundle of 10,000 policies needs 128-256 MB), JSON about a fifth of that, a db less still
 * (10,000 policies in 24-32 MB, 50,000 in 96-128 MB). With serve's default of 96 MB a loader reads
 * YAML up to about 1 MB (5,000 policies) and JSON up to about 4.8 MB (30,000 policies), and a
 * sidecar serving a small bundle stays within the shipped 256 Mi container limit while a larger
 * load fails cleanly (docs/configuration.md, deploy/README.md).
 */
export function loaderLimits(heapMb: number): ResourceLimits {
  return { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(16, Math.max(1, Math.floor(heapMb / 4))) };
}

// Under vitest the sources run as TypeScript, which a worker thread cannot load, so it runs the
// build's copy, which vitest's global setup (test/global-setup.ts) builds from these sources first.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../../dist/sources/loader/thread.js', import.meta.url)
  : new URL('./thread.js', import.meta.url);

/** How long a prepared loader thread waits for its load before it ends (see `Loader.prepare`). */
export const PREPARED_IDLE_MS = 10_000;

/**
 * Runs loads on loader threads, one new thread per load, so that parsing (YAML, JSON and its
 * locations) or reading a db never blocks the event loop; each load's Bundle is then rebuilt here in
 * slices of a few milliseconds (see `bundleFromParts`) and equals what the same code returns
 * in-thread. A thread ends with its load (it is terminated once it answered); while it runs it
 * keeps the process alive, as any pending read does, within the given heap. The loader's own
 * errors come back as the same PdpError; a load that runs out of that heap rejects with
 * BUNDLE_INVALID (too large to load), and a thread that crashes otherwise or exits without
 * answering with PdpError INTERNAL.
 *
 * `prepare()` starts the next load's thread ahead of it: a source calls it when its watcher first
 * sees a change, which a load follows only after the write settles and the debounce passes. So
 * the thread's start-up (about 100 ms: a V8 isolate, Node's bootstrap, the parsers' modules) runs
 * during that wait instead of in the activation. A prepared thread that no load takes within
 * `preparedIdleMs` ends, so an idle sidecar holds none (an idle thread is about 20 MB).
 */
export class Loader {
  readonly #limits: ResourceLimits | undefined;
  readonly #preparedIdleMs: number;
  #prepared: { readonly worker: Worker; readonly timer: NodeJS.Timeout } | undefined;

  constructor(options: LoadInWorkerOptions & { readonly preparedIdleMs?: number } = {}) {
    this.#limits = options.heapMb !== undefined ? loaderLimits(options.heapMb) : options.resourceLimits;
    this.#preparedIdleMs = options.preparedIdleMs ?? PREPARED_IDLE_MS;
  }

  /** Starts the next load's thread now, unless one is waiting already (its wait starts again). */
  prepare(): void {
    if (this.#prepared !== undefined) {
      this.#prepared.timer.refresh();
      return;
    }
    let worker: Worker;
    try {
      worker = this.#startThread();
    } catch {
      // Best effort: a thread that cannot be made now (a pids limit, say) is the load's to report,
      // as a failed activation, never a crash of the watcher that asked ahead.
      return;
    }
    worker.unref(); // waiting for a load never keeps the process alive
    const drop = (): void => {
      if (this.#prepared?.worker !== worker) return;
      clearTimeout(this.#prepared.timer);
      this.#prepared = undefined;
    };
    // A thread that fails or ends before its load is dropped; one taken by a load reports to it too.
    worker.on('error', drop);
    worker.once('exit', drop);
    const timer = setTimeout(() => {
      drop();
      void worker.terminate();
    }, this.#preparedIdleMs).unref();
    this.#prepared = { worker, timer };
  }

  /** Whether a prepared thread is waiting for a load (for tests and diagnostics). */
  get isPrepared(): boolean {
    return this.#prepared !== undefined;
  }

  /** Runs one load, on the prepared thread if there is one, else on a new one. */
  async load(request: LoadRequest): Promise<Bundle> {
    const origin = request.kind === 'db' ? request.path : request.origin;
    const prepared = this.#prepared;
    this.#prepared = undefined;
    if (prepared !== undefined) clearTimeout(prepared.timer);
    const worker = prepared?.worker ?? this.#startThread();
    worker.ref();
    const limits = this.#limits;
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      let isSettled = false;
      const settle = (fn: () => void): void => {
        if (isSettled) return;
        isSettled = true;
        fn();
        void worker.terminate();
      };
      worker.once('message', (reply: LoadReply) => settle(() => resolve(reply)));
      worker.once('error', (err) =>
        settle(() =>
          reject((err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? outOfMemory(request, limits ?? {}, err) : crashed(origin, err.message, err)),
        ),
      );
      worker.once('exit', (code) => settle(() => reject(crashed(origin, `it exited with code ${code} before answering`))));
      worker.postMessage(request);
    });
    if (reply.ok) return runSliced(bundleFromParts(reply.parts));
    const cause = reply.cause && Object.assign(new Error(reply.cause.message), reply.cause);
    throw new PdpError(reply.code, reply.message, { issues: reply.issues, cause });
  }

  /** A new loader thread with this loader's limits; it waits for its request as a message. */
  #startThread(): Worker {
    return new Worker(WORKER_URL, { resourceLimits: this.#limits });
  }

  /** Ends a prepared thread, if any (a source that stops watching). */
  close(): void {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    if (prepared === undefined) return;
    clearTimeout(prepared.timer);
    void prepared.worker.terminate();
  }
}

/** One load on a new loader thread (see `Loader`): for one-shot commands and tests. */
export function loadInWorker(request: LoadRequest, options: LoadInWorkerOptions = {}): Promise<Bundle> {
  return new Loader(options).load(request);
}

/** A load that needed more memory than the loader thread may use: the bundle is too large to load, like one over the size cap. */
function outOfMemory(request: LoadRequest, limits: ResourceLimits, cause: unknown): PdpError {
  const origin = request.kind === 'db' ? request.path : request.origin;
  const size = request.kind === 'file' ? ` (${(request.bytes.length / 1024 / 1024).toFixed(1)} MiB)` : '';
  const convert = request.kind === 'file' ? ', or convert it: JSON needs about a fifth of the memory of YAML, and a db (guardrail-pdp compile) less still' : '';
  const message =
    `loading ${origin}${size} needs more than the ${limits.maxOldGenerationSizeMb ?? '?'} MB of heap a loader thread may use ` +
    `(--loader-heap-mb); not loaded: make it smaller, raise the limit with the pod's memory${convert}`;
  const issue = Object.freeze({ severity: 'error' as const, rule: 'invalid_bundle' as const, message, file: origin, line: 0, column: 0, path: '' });
  return new PdpError('BUNDLE_INVALID', message, { issues: [issue], cause });
}

function crashed(origin: string, reason: string, cause?: unknown): PdpError {
  return new PdpError('INTERNAL', `the loader thread for ${origin} failed: ${reason}; the bundle was not loaded`, { cause });
}
