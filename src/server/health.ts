import type { Server, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** The names PdpHealth reports on: '' is the server as a whole, as grpc.health.v1 defines it. */
const SERVICES = ['', 'guardrail.pdp.v1.DecisionService'] as const;

/** Applied to the health service implementation before it is registered (metrics). */
export type WrapService = (definition: ServiceDefinition, impl: UntypedServiceImplementation) => UntypedServiceImplementation;

/**
 * The grpc.health.v1.Health service of one PDP server. It reports NOT_SERVING until told
 * otherwise, for both the overall service '' and guardrail.pdp.v1.DecisionService; other
 * names answer NOT_FOUND on Check.
 *
 * Readiness, not liveness: the app calls `setServing(true)` after the first successful
 * snapshot activation, a failed reload never turns it off (the last good snapshot keeps
 * serving), and shutdown calls `setServing(false)` before draining, then `endWatches()` so
 * health Watch streams (which never end on their own) do not hold the server open.
 */
export class PdpHealth {
  // One implementation per server (no process-wide singleton), so two apps can share a process.
  readonly #impl = new HealthImplementation(
    Object.fromEntries(SERVICES.map((name) => [name, 'NOT_SERVING' satisfies ServingStatus])),
  );
  readonly #watches = new Set<ServerWritableStream<unknown, unknown>>();
  #isEnded = false;
  #isServing = false;

  /** Registers grpc.health.v1.Health (Check, Watch and List) on `server`, through `wrap` if given. */
  addToServer(server: Server, wrap: WrapService = (_d, impl) => impl): void {
    // grpc-health-check registers itself through addService; intercept that one call to track
    // Watch streams and apply `wrap`.
    const registrar = {
      addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) =>
        server.addService(definition, wrap(definition, this.#trackWatches(impl))),
    };
    this.#impl.addToServer(registrar as unknown as Server);
  }

  /** Sets SERVING or NOT_SERVING for '' and the DecisionService; Watch callers see each change once. */
  setServing(isServing: boolean): void {
    if (this.#isEnded || isServing === this.#isServing) return; // shutting down: stays NOT_SERVING
    this.#isServing = isServing;
    const next: ServingStatus = isServing ? 'SERVING' : 'NOT_SERVING';
    for (const name of SERVICES) this.#impl.setStatus(name, next);
  }

  /**
   * For shutdown: NOT_SERVING from now on, every open health Watch stream ends (status OK) after
   * its last status, and new Watch calls end at once.
   */
  endWatches(): void {
    this.setServing(false);
    this.#isEnded = true;
    const open = [...this.#watches];
    this.#watches.clear();
    for (const call of open) call.end();
  }

  /** How many health Watch streams are open. */
  get openWatches(): number {
    return this.#watches.size;
  }

  #trackWatches(impl: UntypedServiceImplementation): UntypedServiceImplementation {
    const watch = impl['watch'] as ((call: ServerWritableStream<unknown, unknown>) => void) | undefined;
    if (watch === undefined) return impl;
    return {
      ...impl,
      watch: (call: ServerWritableStream<unknown, unknown>) => {
        watch(call); // writes the current status first
        if (this.#isEnded) return void call.end();
        this.#watches.add(call);
        call.on('cancelled', () => this.#watches.delete(call));
      },
    };
  }
}
