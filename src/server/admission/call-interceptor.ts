import {
  Metadata,
  status,
  type ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import type { GrpcMethodMetrics, GrpcServerMetrics } from '../../metrics/grpc-server.js';
import { STATUS } from '../status.js';
import { refusal, type CallLimiter } from './call-limiter.js';

type Listener = Parameters<ServerInterceptingCallInterface['start']>[0];
type Status = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

interface Route {
  readonly metrics: GrpcMethodMetrics;
  readonly limiter: CallLimiter | undefined;
  readonly isStream: boolean;
}

/**
 * A grpc-js server interceptor that measures and admits calls from the moment grpc-js has parsed
 * their headers, before any message is read. It therefore sees every call of the services added to
 * it, including those grpc-js ends itself (a deadline that expires while the call waits for its
 * message: counted as DEADLINE_EXCEEDED; a client that resets the stream: CANCELLED), which a
 * handler wrapper never sees. With a limiter, a call is refused at once when its deadline has
 * already passed or the server is at its cap, and again just before its handler would run if the
 * deadline passed while it waited. Calls of other services (reflection) pass through untouched.
 */
export class CallInterceptor {
  readonly #metrics: GrpcServerMetrics;
  readonly #routes = new Map<string, Route>();

  constructor(metrics: GrpcServerMetrics) {
    this.#metrics = metrics;
  }

  /** Measures every unary and server-streaming method of `definition`; admits its calls through `limiter`, if given. */
  add(definition: ServiceDefinition, limiter?: CallLimiter): void {
    for (const def of Object.values(definition)) {
      if (def.requestStream) continue; // none of ours; grpc-js's own handling applies
      const isStream = def.responseStream;
      this.#routes.set(def.path, { metrics: this.#metrics.method(isStream ? 'server_stream' : 'unary', def.path), limiter, isStream });
    }
  }

  /** For `new Server({ interceptors: [...] })`. */
  readonly intercept: ServerInterceptor = (method, call) => {
    const route = this.#routes.get(method.path);
    // grpc-js only needs the interface; one object per call is all this costs.
    return (route === undefined ? call : new MeasuredCall(call, route)) as ServerInterceptingCall;
  };
}

/**
 * One call on its way through grpc-js: records it as started, admits or refuses it, and records
 * the first final status (its own, or the cancellation grpc-js signals when it ends the call).
 * It is both the call the handler sees and the listener grpc-js delivers to.
 */
class MeasuredCall implements ServerInterceptingCallInterface, Listener {
  readonly #next: ServerInterceptingCallInterface;
  readonly #route: Route;
  readonly #t0 = performance.now();
  readonly #deadlineMs: number;
  #listener: Listener | undefined;
  #refusal: Status | undefined;
  #isAdmitted = false;
  #isDone = false;

  constructor(next: ServerInterceptingCallInterface, route: Route) {
    this.#next = next;
    this.#route = route;
    const deadline = next.getDeadline();
    this.#deadlineMs = typeof deadline === 'number' ? deadline : deadline.getTime();
    route.metrics.started();
    if (route.limiter === undefined) return;
    this.#refusal = refusal(this.#deadlineMs, route.limiter);
    if (this.#refusal !== undefined) return;
    route.limiter.enter(route.isStream);
    this.#isAdmitted = true;
  }

  start(listener: Listener): void {
    if (this.#refusal !== undefined) return this.sendStatus(this.#refusal); // nothing is read or run
    this.#listener = listener;
    this.#next.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.#listener?.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (this.#refusal !== undefined) return;
    // The message is in: the handler runs next (a stream's now, a unary's at half-close).
    if (this.#isAdmitted && this.#deadlineMs !== Infinity && this.#deadlineMs <= Date.now()) {
      this.#refusal = STATUS.DEADLINE_PASSED;
      return this.sendStatus(STATUS.DEADLINE_PASSED);
    }
    this.#listener?.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    if (this.#refusal === undefined) this.#listener?.onReceiveHalfClose();
  }

  onCancel(): void {
    // grpc-js signals this after every end; first one wins, so after our own status it is a no-op.
    this.#finish(this.#deadlineMs !== Infinity && Date.now() + 1 >= this.#deadlineMs ? status.DEADLINE_EXCEEDED : status.CANCELLED);
    this.#listener?.onCancel();
  }

  sendMetadata(metadata: Metadata): void {
    this.#next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    this.#next.sendMessage(message, callback);
  }

  sendStatus(s: Status): void {
    this.#finish(s.code);
    this.#next.sendStatus(s);
  }

  startRead(): void {
    this.#next.startRead();
  }

  getPeer(): string {
    return this.#next.getPeer();
  }

  getDeadline(): ReturnType<ServerInterceptingCallInterface['getDeadline']> {
    return this.#next.getDeadline();
  }

  getHost(): string {
    return this.#next.getHost();
  }

  getAuthContext(): ReturnType<ServerInterceptingCallInterface['getAuthContext']> {
    return this.#next.getAuthContext();
  }

  getConnectionInfo(): ReturnType<ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.#next.getConnectionInfo();
  }

  getMetricsRecorder(): ReturnType<ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.#next.getMetricsRecorder();
  }

  #finish(code: number): void {
    if (this.#isDone) return;
    this.#isDone = true;
    if (this.#isAdmitted) this.#route.limiter?.leave(this.#route.isStream);
    this.#route.metrics.handled(code, (performance.now() - this.#t0) / 1000);
  }
}
