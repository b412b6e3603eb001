import { overloaded } from '../../errors.js';
import { STATUS, toStatus, type WireStatus } from '../status.js';

/** Default cap on decision API calls in flight: far above a gateway pod's concurrency, small enough to bound memory. */
export const DEFAULT_MAX_IN_FLIGHT = 2048;

/**
 * Admission control for one server: unary calls in flight plus open server streams, capped at
 * `maxInFlight`. A call is in flight from its arrival (grpc-js has parsed its headers; see
 * CallInterceptor) to its status, so calls still waiting inside grpc-js for their message count
 * too, and after that for as long as work it started still runs (`hold`: a call cancelled while its
 * pipeline runs). Beyond the cap a new call fails fast with RESOURCE_EXHAUSTED instead of queueing,
 * so memory stays bounded however hard clients push.
 */
export class CallLimiter {
  readonly maxInFlight: number;
  #unary = 0;
  #streams = 0;
  #idleWaiters: (() => void)[] = [];

  /** The refusal of a call beyond the cap (made once: refusals must stay cheap under overload). */
  readonly overloaded: WireStatus;

  constructor(maxInFlight: number = DEFAULT_MAX_IN_FLIGHT) {
    this.maxInFlight = maxInFlight;
    this.overloaded = Object.freeze(toStatus(overloaded(maxInFlight)));
  }

  /** Unary calls admitted and not yet answered, plus ended calls whose work still runs (see `hold`). */
  get unaryInFlight(): number {
    return this.#unary;
  }

  /** Server streams (Watch) open. */
  get openStreams(): number {
    return this.#streams;
  }

  /** Whether one more call fits under the cap. */
  get hasRoom(): boolean {
    return this.#unary + this.#streams < this.maxInFlight;
  }

  /** Resolves once no unary call is in flight (at once if none is). */
  whenUnaryIdle(): Promise<void> {
    if (this.#unary === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Keeps one unary slot taken for work that outlives its call: a handler whose call ended
   * (cancelled, or its deadline passed, which releases the call's own slot) while its work still
   * runs takes this at once, so the work goes on counting against the cap, in
   * `pdp_calls_in_flight` and for shutdown. Returns the release, to call once when the work ends
   * (later calls do nothing).
   */
  hold(): () => void {
    this.#unary++;
    let isHeld = true;
    return () => {
      if (!isHeld) return;
      isHeld = false;
      this.leave(false);
    };
  }

  /** @internal Called by the interceptor. */
  enter(isStream: boolean): void {
    if (isStream) this.#streams++;
    else this.#unary++;
  }

  /** @internal Called by the interceptor, once per `enter`. */
  leave(isStream: boolean): void {
    if (isStream) return void this.#streams--;
    if (--this.#unary > 0 || this.#idleWaiters.length === 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/**
 * Why a call must not start, or undefined if it may: its deadline has already passed
 * (DEADLINE_EXCEEDED, no work done) or the server is at its cap (RESOURCE_EXHAUSTED).
 */
export function refusal(deadlineMs: number, limiter: CallLimiter): WireStatus | undefined {
  // No deadline (Infinity) skips the clock read.
  if (deadlineMs !== Infinity && deadlineMs <= Date.now()) return STATUS.DEADLINE_PASSED;
  if (!limiter.hasRoom) return limiter.overloaded;
  return undefined;
}
