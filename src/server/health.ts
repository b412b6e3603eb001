import type { Server } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** The names PdpHealth reports on: '' is the server as a whole, as grpc.health.v1 defines it. */
const SERVICES = ['', 'guardrail.pdp.v1.DecisionService'] as const;

/**
 * The grpc.health.v1.Health service of one PDP server. It reports NOT_SERVING until told
 * otherwise, for both the overall service '' and guardrail.pdp.v1.DecisionService; other
 * names answer NOT_FOUND on Check.
 *
 * Readiness, not liveness: the app calls `setServing(true)` after the first successful
 * snapshot activation, a failed reload never turns it off (the last good snapshot keeps
 * serving), and shutdown calls `setServing(false)` before draining.
 */
export class PdpHealth {
  // One implementation per server (no process-wide singleton), so two apps can share a process.
  readonly #impl = new HealthImplementation(
    Object.fromEntries(SERVICES.map((name) => [name, 'NOT_SERVING' satisfies ServingStatus])),
  );

  /** Registers grpc.health.v1.Health (Check, Watch and List) on `server`. */
  addToServer(server: Server): void {
    this.#impl.addToServer(server);
  }

  /** Sets SERVING or NOT_SERVING for '' and the DecisionService; Watch callers see the change. */
  setServing(isServing: boolean): void {
    const next: ServingStatus = isServing ? 'SERVING' : 'NOT_SERVING';
    for (const name of SERVICES) this.#impl.setStatus(name, next);
  }
}
