import { lstat, unlink } from 'node:fs/promises';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotHolder } from '../activation/holder.js';
import { PdpError } from '../errors.js';
import { DecisionServiceService } from '../gen/guardrail/pdp/v1/decision_service.js';
import { PdpHealth } from './health.js';
import { toGrpcTarget, type ListenAddress } from './listen-address.js';
import { createDecisionService } from './pdp-service.js';
import { addReflectionService } from './reflection.js';
import { WatchStreams, type ActivationEvents } from './watch.js';

/** Services this server exposes, as listed by reflection. */
export const SERVICE_NAMES = Object.freeze([
  'guardrail.pdp.v1.DecisionService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

/** Largest request accepted; larger ones fail with RESOURCE_EXHAUSTED before any handler runs. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export interface PdpServerOptions {
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  readonly listen: ListenAddress;
  /** Activation events for Watch (the Activator). */
  readonly events: ActivationEvents;
}

/**
 * The gRPC decision API: DecisionService, grpc.health.v1 (SERVING once a snapshot is active; a
 * failed reload never turns it off) and server reflection from buf's real descriptors.
 */
export class PdpServer {
  readonly #opts: PdpServerOptions;
  readonly #log: Logger;
  readonly #server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES });
  readonly #health = new PdpHealth();
  #offSwap: (() => void) | undefined;
  #watchStreams: WatchStreams | undefined;

  constructor(opts: PdpServerOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'grpc' });
  }

  /** Binds and serves; returns the bound address (`host:port` with the real port, or `unix:///path`). */
  async start(): Promise<string> {
    const { holder, listen, events } = this.#opts;
    this.#watchStreams = new WatchStreams(events);
    this.#server.addService(
      DecisionServiceService,
      createDecisionService({ holder, log: this.#opts.log, watchStreams: this.#watchStreams }),
    );
    this.#health.addToServer(this.#server);
    addReflectionService(this.#server, SERVICE_NAMES);
    this.#health.setServing(holder.current() !== undefined);
    this.#offSwap = holder.onSwap(() => this.#health.setServing(true));

    if (listen.kind === 'unix') await removeStaleSocket(listen.path);
    const target = toGrpcTarget(listen);
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(target, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    ).catch((e: unknown) => {
      this.#watchStreams?.close();
      throw new PdpError('INVALID_CONFIG', `cannot listen on ${target}: ${(e as Error).message}`, { cause: e });
    });
    const address = listen.kind === 'unix' ? target : toGrpcTarget({ ...listen, port });
    this.#log.info({ address }, 'decision API listening');
    return address;
  }

  /** How many Watch streams are open (for tests and diagnostics). */
  get openWatchStreams(): number {
    return this.#watchStreams?.size ?? 0;
  }

  /**
   * Health goes NOT_SERVING, open Watch streams end (status OK), in-flight calls get `graceMs` to
   * finish, then the rest are cancelled.
   */
  async stop(graceMs: number): Promise<void> {
    this.#health.setServing(false);
    this.#offSwap?.();
    // Watch streams never finish on their own; end them so tryShutdown can complete.
    this.#watchStreams?.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const { listen } = this.#opts;
    if (listen.kind === 'unix') await unlink(listen.path).catch(() => undefined);
  }
}

/** A socket file left by a crashed process would make bind fail; anything else there is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new PdpError('INVALID_CONFIG', `cannot listen on unix://${path}: a file that is not a socket is in the way`);
  await unlink(path);
}
