import { basename, dirname, join } from 'node:path';
import { chmod, lstat, mkdtemp, readdir, rename, rm, unlink } from 'node:fs/promises';
import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ActivationEvents } from '../activation/activator.js';
import type { SnapshotHolder } from '../activation/holder.js';
import { PdpError } from '../errors.js';
import type { PdpMetrics } from '../metrics/registry.js';
import { CallInterceptor } from './admission/call-interceptor.js';
import type { DecisionLog } from './handlers/decision-log.js';
import { EncodedDecisionService } from './convert/encoded.js';
import { PdpHealth } from './health.js';
import { CallLimiter } from './admission/call-limiter.js';
import { DEFAULT_SOCKET_MODE, listenRefusal, toGrpcTarget, type ListenAddress } from './listen-address.js';
import { createDecisionService } from './handlers/decision-service.js';
import { addReflectionService } from './reflection.js';
import { SnapshotMemos, type ResolveMemoLimits } from './handlers/resolve-memo.js';
import { guardService } from './status.js';
import { toServerCredentials, type TlsMaterial } from './tls.js';
import { WatchStreams } from './handlers/watch.js';

/** Services this server exposes, as listed by reflection. */
export const SERVICE_NAMES = Object.freeze([
  'guardrail.pdp.v1.DecisionService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

/** Largest request accepted; larger ones fail with RESOURCE_EXHAUSTED before any handler runs. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * Default cap on concurrent streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). A
 * client past it queues further calls on its side, where its own deadline sheds them. Without a
 * cap, a burst opens thousands of streams that then wait inside grpc-js for their messages while
 * their deadlines run out: at 3x capacity, 99% of calls ended DEADLINE_EXCEEDED and RSS doubled.
 * With 256 to 1,000, calls were answered at full capacity (at most 0.4% late at 1,000). 512 also
 * leaves room for slow ExecutePipeline calls and hundreds of Watch streams on one channel; Watch
 * streams count against it for as long as they are open.
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 512;

/** grpc-js options of the decision API (see each for why). */
const SERVER_OPTIONS = Object.freeze({
  'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
  // Channelz stays on although nothing reads it: grpc-js 1.14 tracks sessions for forceShutdown
  // only through channelz (with it off, a forced stop leaves calls running), and turning it off
  // measured no faster.

  // Ping each connection every 5 minutes and drop it if no answer comes within 20 s, so a peer
  // that vanished (pod-IP listen, a node gone) stops holding a connection; one ping per
  // connection per 5 minutes costs nothing measurable (grpc-js default: never).
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
});

export interface PdpServerOptions {
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  readonly listen: ListenAddress;
  /** Activation events, for health and Watch (the Activator). */
  readonly events: ActivationEvents;
  /** Where the standard gRPC series are recorded. */
  readonly metrics: PdpMetrics;
  /** Cap on unary calls in flight plus open Watch streams (default DEFAULT_MAX_IN_FLIGHT). */
  readonly maxInFlight?: number;
  /** TLS for the decision API (mTLS when it has a client CA); plaintext when absent. */
  readonly tls?: TlsMaterial;
  /** Allows plaintext on a non-loopback address (refused otherwise). */
  readonly isInsecureListenAllowed?: boolean;
  readonly decisionLog?: DecisionLog;
  /** Cap on concurrent streams per connection (default DEFAULT_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams?: number;
  /** Bounds of each snapshot's memo of Resolve answers (default: 10,000 entries, 16 MiB); maxEntries 0 turns it off. */
  readonly resolveMemo?: ResolveMemoLimits;
}

/**
 * The gRPC decision API: DecisionService, grpc.health.v1 (SERVING once a snapshot is active; a
 * failed reload never turns it off) and server reflection from buf's real descriptors. Every
 * DecisionService and health call is measured from its arrival (CallInterceptor); DecisionService
 * calls pass admission control there. Resolve answers are memoized per snapshot, encoded.
 */
export class PdpServer {
  readonly #opts: PdpServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #calls: CallInterceptor;
  readonly #health = new PdpHealth();
  readonly #limiter: CallLimiter;
  readonly #memos: SnapshotMemos;
  #offActivated: (() => void) | undefined;
  #watchStreams: WatchStreams | undefined;

  constructor(opts: PdpServerOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'grpc' });
    this.#limiter = new CallLimiter(opts.maxInFlight);
    this.#calls = new CallInterceptor(opts.metrics.grpc);
    this.#server = new Server({
      ...SERVER_OPTIONS,
      'grpc.max_concurrent_streams': opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      interceptors: [this.#calls.intercept],
    });
    this.#memos = new SnapshotMemos(opts.resolveMemo);
  }

  /** Binds and serves; returns the bound address (`host:port` with the real port, or `unix:///path`). */
  async start(): Promise<string> {
    const { holder, listen, events, metrics, tls, decisionLog } = this.#opts;
    const refusal = listenRefusal(listen, tls !== undefined, this.#opts.isInsecureListenAllowed === true);
    if (refusal !== undefined) throw new PdpError('INVALID_CONFIG', refusal);
    this.#watchStreams = new WatchStreams(events);
    const decisions = createDecisionService({
      holder,
      log: this.#opts.log,
      watchStreams: this.#watchStreams,
      decisionLog,
      observeStep: (kind, outcome) => metrics.observeStep(kind, outcome),
      resolveMemos: this.#memos,
      holdSlot: () => this.#limiter.hold(),
    });
    this.#calls.add(EncodedDecisionService, this.#limiter);
    this.#server.addService(EncodedDecisionService, guardService(EncodedDecisionService, decisions, this.#log));
    // Health calls are measured but never shed: a probe must not fail because the server is busy.
    this.#health.addToServer(this.#server, (definition, impl) => {
      this.#calls.add(definition);
      return guardService(definition, impl, this.#log);
    });
    addReflectionService(this.#server, SERVICE_NAMES);
    this.#health.setServing(holder.current() !== undefined);
    this.#offActivated = events.subscribe((event) => {
      if (event.kind === 'activated') this.#health.setServing(true);
    });

    const target = toGrpcTarget(listen);
    let staging: string | undefined;
    const port = await (async () => {
      // A Unix socket is bound in a new private directory (0700) beside its path, given its mode,
      // then renamed into place: no other user can connect to it before it has its mode, at the
      // staging name or at its path (a connection made then would outlive the chmod).
      if (listen.kind === 'unix') {
        await Promise.all([removeStaleSocket(listen.path), removeStagingDirs(listen.path)]);
        staging = await mkdtemp(stagingPrefix(listen.path));
      }
      const bindTarget = staging === undefined ? target : `unix://${join(staging, 's')}`;
      const bound = await new Promise<number>((resolve, reject) =>
        this.#server.bindAsync(bindTarget, toServerCredentials(tls), (err, p) => (err ? reject(err) : resolve(p))),
      );
      if (listen.kind === 'unix' && staging !== undefined) {
        await chmod(join(staging, 's'), listen.mode ?? DEFAULT_SOCKET_MODE);
        await rename(join(staging, 's'), listen.path);
        await rm(staging, { recursive: true, force: true });
      }
      return bound;
    })().catch(async (e: unknown) => {
      // Nothing stays listening or on disk after a failed start (bound, but chmod or rename failed).
      this.#server.forceShutdown();
      if (staging !== undefined) await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      this.#watchStreams?.close();
      throw e instanceof PdpError ? e : new PdpError('INVALID_CONFIG', `cannot listen on ${target}: ${(e as Error).message}`, { cause: e });
    });
    const address = listen.kind === 'unix' ? target : toGrpcTarget({ ...listen, port });
    const security = tls === undefined ? 'plaintext' : tls.clientCa === undefined ? 'tls' : 'mtls';
    const socketMode = listen.kind === 'unix' ? `0${(listen.mode ?? DEFAULT_SOCKET_MODE).toString(8)}` : undefined;
    this.#log.info({ security, maxInFlight: this.#limiter.maxInFlight, address, ...(socketMode === undefined ? {} : { socketMode }) }, 'decision API listening');
    return address;
  }

  /** How many Watch streams are open (for tests and diagnostics). */
  get openWatchStreams(): number {
    return this.#watchStreams?.size ?? 0;
  }

  /** Resolve answers memoized for the active snapshot (0 before the first call or with the memo off). */
  get resolveMemoSize(): number {
    const snapshot = this.#opts.holder.current();
    return snapshot === undefined ? 0 : (this.#memos.peek(snapshot)?.size ?? 0);
  }

  /** Unary calls in flight (admitted on arrival, not yet answered), plus cancelled calls whose work still runs. */
  get callsInFlight(): number {
    return this.#limiter.unaryInFlight;
  }

  /**
   * Shuts down in order, logging each phase, within `graceMs` in all: health NOT_SERVING; stop
   * accepting calls (listeners close, connections get GOAWAY); wait for in-flight unary calls; end
   * Watch streams (status OK, health Watch too); wait for connections to close. Whatever is still
   * open when the grace period ends is cancelled.
   */
  async stop(graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs;
    const remainingMs = (): number => Math.max(0, deadline - performance.now());
    this.#health.setServing(false);
    this.#offActivated?.();
    this.#log.info({ graceMs }, 'shutdown: health NOT_SERVING');
    const isClosed = new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    this.#log.info({ callsInFlight: this.#limiter.unaryInFlight }, 'shutdown: not accepting new calls; waiting for calls in flight');
    if (await within(this.#limiter.whenUnaryIdle(), remainingMs())) this.#log.info('shutdown: calls in flight finished');
    else this.#log.warn({ callsInFlight: this.#limiter.unaryInFlight }, 'shutdown: grace period over with calls in flight');
    const watchStreams = this.openWatchStreams + this.#health.openWatches;
    this.#watchStreams?.close();
    this.#health.endWatches();
    this.#log.info({ watchStreams }, 'shutdown: Watch streams ended');
    if (!(await within(isClosed, remainingMs()))) {
      this.#server.forceShutdown();
      this.#log.warn('shutdown: grace period over; cancelled the calls still open');
    }
    const { listen } = this.#opts;
    if (listen.kind === 'unix') await unlink(listen.path).catch(() => undefined);
  }
}

/** Whether `promise` settles within `ms`; the timer never outlives the answer. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The prefix of the private directories a Unix socket is bound in before it is renamed to `path`
 * (`.NAME.bind-XXXXXX/s` beside it; MAX_SOCKET_PATH_BYTES leaves room for that).
 */
function stagingPrefix(path: string): string {
  return join(dirname(path), `.${basename(path)}.bind-`);
}

/** Staging directories of `path` that a process killed while binding left behind. */
async function removeStagingDirs(path: string): Promise<void> {
  const prefix = basename(stagingPrefix(path));
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix) && n.length === prefix.length + 6).map((n) => rm(join(dirname(path), n), { recursive: true, force: true })));
}

/** A socket file left by a crashed process would make bind fail; anything else there is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new PdpError('INVALID_CONFIG', `cannot listen on unix://${path}: a file that is not a socket is in the way`);
  await unlink(path);
}
