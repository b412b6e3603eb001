import { Client, Metadata, status, type CallOptions, type ClientReadableStream } from '@grpc/grpc-js';
import { DecisionServiceService } from '../gen/guardrail/pdp/v1/decision_service.js';
import { ExecutePipelineRequest, type DeepPartial, type ExecutePipelineResponse } from '../gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest, ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';
import type { WatchEvent } from '../gen/guardrail/pdp/v1/watch.js';
import { HealthCheckResponse_ServingStatus, HealthService } from '../gen/health/v1/health.js';
import { DecisionCache, freezeResult, requestKey, type ResolveRequestInput, type ResolveResult } from './decision-cache.js';
import { PdpClientError, toClientError } from './errors.js';
import { toSettings, type ClientOptions, type FailMode, type Settings } from './options.js';
import { RevisionWatch } from './revision-watch.js';

/** The service whose health `ready()` waits for. */
const SERVICE_NAME = 'guardrail.pdp.v1.DecisionService';
const RESOLVE = DecisionServiceService.resolve;
const EXECUTE_PIPELINE = DecisionServiceService.executePipeline;
const WATCH = DecisionServiceService.watch;
const HEALTH_CHECK = HealthService.check;

/** Per-call options. */
export interface CallSettings {
  /** This call's deadline, from now (default: the client's `deadlineMs`). */
  readonly deadlineMs?: number;
}

/** What the client has done so far, for metrics and debugging. */
export interface ClientStats {
  /** Resolve calls answered from the cache (no RPC). */
  readonly hits: number;
  /** Resolve calls that made an RPC (cache off, bypassed while the Watch stream is down, or a miss). */
  readonly misses: number;
  /** Resolve calls answered with a stale cached answer because the sidecar could not answer. */
  readonly staleAnswers: number;
  /** RPCs repeated because a reload happened while they were answered (see docs/clients.md). */
  readonly retries: number;
  readonly entries: number;
  readonly bytes: number;
  /** The cache's Watch stream is up (the cache is in use). */
  readonly watching: boolean;
  /** The revision of the last ACTIVATED event received ('' before the first). */
  readonly revision: string;
}

/** A client of one sidecar. See docs/clients.md. */
export interface PdpClient {
  /**
   * Which guardrails and pipelines apply: from the cache when the Watch stream is up and the
   * request was answered by the current revision, else one Resolve RPC.
   * Rejects with PdpClientError (failMode `stale`: only when no cached answer exists).
   */
  resolve(request: ResolveRequestInput, options?: CallSettings): Promise<ResolveResult>;
  /** Runs a pipeline (never cached). Rejects with PdpClientError. */
  executePipeline(request: DeepPartial<ExecutePipelineRequest>, options?: CallSettings): Promise<ExecutePipelineResponse>;
  /**
   * Opens a Watch stream of its own: the current snapshot, then every activation and failed
   * activation. Ends when the server ends the stream, or when `signal` aborts or the loop breaks;
   * throws PdpClientError if the stream fails (no reconnect: that is the caller's choice).
   */
  watch(options?: { readonly knownRevision?: string; readonly signal?: AbortSignal }): AsyncIterableIterator<WatchEvent>;
  /**
   * Resolves once the sidecar reports SERVING (grpc.health.v1) and, with the cache on, its Watch
   * stream is up; rejects with DEADLINE_EXCEEDED after `timeoutMs` (default 5000), naming the last
   * status seen.
   */
  ready(options?: { readonly timeoutMs?: number }): Promise<void>;
  stats(): ClientStats;
  /** Stops the Watch stream and closes the channel. */
  close(): void;
}

/**
 * Connects to a sidecar (lazily: nothing fails here if it is down): at `address` or `socketPath`,
 * else `$GUARDRAIL_PDP_ADDRESS`, else the injected sidecar's socket. Throws INVALID_ARGUMENT for bad options.
 */
export function createClient(options: ClientOptions = {}): PdpClient {
  return new DecisionClient(toSettings(options));
}

class DecisionClient implements PdpClient {
  readonly #grpc: Client;
  readonly #target: string;
  readonly #deadlineMs: number;
  readonly #failMode: FailMode;
  readonly #cache: DecisionCache | undefined;
  readonly #watch: RevisionWatch | undefined;
  #isClosed = false;
  #hits = 0;
  #misses = 0;
  #staleAnswers = 0;
  #retries = 0;

  constructor(s: Settings) {
    this.#grpc = new Client(s.target, s.credentials, s.channelOptions);
    this.#target = s.target;
    this.#deadlineMs = s.deadlineMs;
    this.#failMode = s.failMode;
    if (s.cache !== undefined) {
      const cache = new DecisionCache(s.cache);
      this.#cache = cache;
      // On every ACTIVATED event, the answers of other revisions go. In 'stale' mode they stay, as
      // fallbacks only: `get` answers for the current revision alone.
      this.#watch = new RevisionWatch(this.#grpc, (revision) => (this.#failMode === 'closed' ? cache.retainRevision(revision) : undefined), s.reconnect);
      this.#watch.start();
    }
  }

  async resolve(request: ResolveRequestInput, options?: CallSettings): Promise<ResolveResult> {
    this.#checkOpen();
    const cache = this.#cache;
    const watch = this.#watch;
    let key: string | undefined;
    if (cache !== undefined && watch !== undefined) {
      key = requestKey(request);
      if (watch.isUp) {
        const hit = cache.get(key, watch.revision);
        if (hit !== undefined) {
          this.#hits++;
          return hit;
        }
      }
    }
    this.#misses++;
    const deadline = Date.now() + (options?.deadlineMs ?? this.#deadlineMs);
    const message = ResolveRequest.fromPartial(request);
    for (;;) {
      const epoch = watch?.epoch ?? 0;
      let answer: Sized<ResolveResponse>;
      try {
        answer = await this.#unary(RESOLVE.path, RESOLVE.requestSerialize, decodeResolve, message, deadline);
      } catch (e) {
        const error = toClientError(e);
        const stale = this.#failMode === 'stale' && key !== undefined && error.code !== status.INVALID_ARGUMENT ? cache?.stale(key) : undefined;
        if (stale === undefined) throw error;
        this.#staleAnswers++;
        return stale;
      }
      const { value, bytes } = answer;
      // An ACTIVATED event arrived while this call was out: the answer may come from the snapshot
      // before it. Take it only if it carries the revision now known; else ask again.
      if (watch !== undefined && watch.epoch !== epoch && value.revision !== watch.revision) {
        this.#retries++;
        continue; // the next attempt fails with DEADLINE_EXCEEDED if no time is left
      }
      const result = freezeResult(value);
      if (cache !== undefined && key !== undefined && watch?.isUp === true && value.revision === watch.revision) cache.set(key, value.revision, result, bytes);
      return result;
    }
  }

  async executePipeline(request: DeepPartial<ExecutePipelineRequest>, options?: CallSettings): Promise<ExecutePipelineResponse> {
    this.#checkOpen();
    const deadline = Date.now() + (options?.deadlineMs ?? this.#deadlineMs);
    const message = ExecutePipelineRequest.fromPartial(request);
    try {
      return await this.#unary(EXECUTE_PIPELINE.path, EXECUTE_PIPELINE.requestSerialize, EXECUTE_PIPELINE.responseDeserialize, message, deadline);
    } catch (e) {
      throw toClientError(e);
    }
  }

  watch(options: { readonly knownRevision?: string; readonly signal?: AbortSignal } = {}): AsyncIterableIterator<WatchEvent> {
    this.#checkOpen();
    const call = this.#grpc.makeServerStreamRequest(WATCH.path, WATCH.requestSerialize, WATCH.responseDeserialize, {
      knownRevision: options.knownRevision ?? '',
    });
    return iterateWatch(call, options.signal);
  }

  async ready(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.#checkOpen();
    const timeoutMs = options.timeoutMs ?? 5000;
    const end = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) break;
      try {
        const { value } = await this.#unary(HEALTH_CHECK.path, HEALTH_CHECK.requestSerialize, sized(HEALTH_CHECK.responseDeserialize), { service: SERVICE_NAME }, Date.now() + Math.min(left, 1000), true);
        last = HealthCheckResponse_ServingStatus[value.status] ?? String(value.status);
        if (value.status === HealthCheckResponse_ServingStatus.SERVING) {
          if (this.#watch === undefined || this.#watch.isUp) return;
          last = 'SERVING, but the Watch stream is not up yet';
          await withTimeout(this.#watch.whenUp(), end - Date.now());
          if (this.#watch.isUp) return;
          continue;
        }
      } catch (e) {
        last = toClientError(e).message;
      }
      await sleep(Math.min(100, Math.max(0, end - Date.now())));
    }
    throw new PdpClientError(status.DEADLINE_EXCEEDED, `the sidecar at ${this.#target} was not ready within ${timeoutMs} ms (last: ${last})`);
  }

  stats(): ClientStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      staleAnswers: this.#staleAnswers,
      retries: this.#retries,
      entries: this.#cache?.size ?? 0,
      bytes: this.#cache?.bytes ?? 0,
      watching: this.#watch?.isUp ?? false,
      revision: this.#watch?.revision ?? '',
    };
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#watch?.stop();
    this.#cache?.clear();
    this.#grpc.close();
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new PdpClientError(status.CANCELLED, 'the client is closed');
  }

  #unary<Req, Res>(
    path: string,
    serialize: (value: Req) => Buffer,
    deserialize: (bytes: Buffer) => Res,
    message: Req,
    deadline: number,
    waitForReady = false,
  ): Promise<Res> {
    const options: CallOptions = { deadline };
    return new Promise((resolve, reject) =>
      this.#grpc.makeUnaryRequest(path, serialize, deserialize, message, new Metadata({ waitForReady }), options, (err, value) =>
        err || value === undefined ? reject(err ?? new Error('no answer')) : resolve(value),
      ),
    );
  }
}

/** A decoded message and the length of its encoding (for the cache's byte bound). */
interface Sized<T> {
  readonly value: T;
  readonly bytes: number;
}

const decodeResolve = sized((b: Buffer) => ResolveResponse.decode(b));

function sized<T>(decode: (b: Buffer) => T): (b: Buffer) => Sized<T> {
  return (b) => ({ value: decode(b), bytes: b.length });
}

async function* iterateWatch(call: ClientReadableStream<WatchEvent>, signal: AbortSignal | undefined): AsyncGenerator<WatchEvent> {
  let isCancelledHere = false;
  const cancel = (): void => {
    isCancelledHere = true;
    call.cancel();
  };
  call.on('error', () => undefined); // reported through the iteration below; after our own cancel, expected
  if (signal?.aborted === true) cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for await (const event of call) yield event as WatchEvent;
  } catch (e) {
    if (!isCancelledHere) throw toClientError(e);
  } finally {
    signal?.removeEventListener('abort', cancel);
    if (!isCancelledHere) cancel();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms))))]).finally(() => clearTimeout(timer));
}
