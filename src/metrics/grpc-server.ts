import type { Metric, Registry } from 'prom-client';

/** gRPC call shapes, as the standard `grpc_type` label spells them. */
export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/**
 * Upper bounds (seconds) of `grpc_server_handling_seconds`: 50 µs to 1 s, fine below a
 * millisecond so a sub-millisecond p99 is visible.
 */
export const HANDLING_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
]);

/** gRPC status names by code (0..16), the values of the `grpc_code` label. */
const CODE_NAMES = Object.freeze([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);
const UNKNOWN_CODE = 2;

/**
 * One method's share of the standard gRPC server series. Recording is a few number and typed-array
 * increments: no label hashing and no allocation on the hot path (prom-client's labelled children
 * hash their labels on every call); the series are built from these counts at scrape time.
 */
export class GrpcMethodMetrics {
  readonly labels: Readonly<{ grpc_type: GrpcType; grpc_service: string; grpc_method: string }>;
  #started = 0;
  readonly #handled = new Float64Array(CODE_NAMES.length);
  /** Per bucket (non-cumulative); the last slot counts values above the largest bound. */
  readonly #buckets = new Float64Array(HANDLING_BUCKETS_SECONDS.length + 1);
  #sum = 0;
  #count = 0;

  constructor(type: GrpcType, service: string, method: string) {
    this.labels = Object.freeze({ grpc_type: type, grpc_service: service, grpc_method: method });
  }

  /** A call arrived (before any admission check). */
  started(): void {
    this.#started++;
  }

  /** A call ended with `code` after `seconds` in the server. Codes outside 0..16 count as UNKNOWN. */
  handled(code: number, seconds: number): void {
    const slot = code >= 0 && code < CODE_NAMES.length ? code : UNKNOWN_CODE;
    this.#handled[slot] = (this.#handled[slot] as number) + 1;
    let i = 0;
    while (i < HANDLING_BUCKETS_SECONDS.length && seconds > (HANDLING_BUCKETS_SECONDS[i] as number)) i++;
    this.#buckets[i] = (this.#buckets[i] as number) + 1;
    this.#sum += seconds;
    this.#count++;
  }

  /** Exposition values for the three series (called at scrape time only). */
  values(): { started: Value; handled: Value[]; histogram: Value[] } {
    const handled: Value[] = [];
    this.#handled.forEach((n, code) => {
      if (n > 0) handled.push({ labels: { ...this.labels, grpc_code: CODE_NAMES[code] as string }, value: n });
    });
    const histogram: Value[] = [];
    let cumulative = 0;
    HANDLING_BUCKETS_SECONDS.forEach((le, i) => {
      cumulative += this.#buckets[i] as number;
      histogram.push({ metricName: `${HANDLING}_bucket`, labels: { ...this.labels, le }, value: cumulative });
    });
    histogram.push(
      { metricName: `${HANDLING}_bucket`, labels: { ...this.labels, le: '+Inf' }, value: this.#count },
      { metricName: `${HANDLING}_sum`, labels: this.labels, value: this.#sum },
      { metricName: `${HANDLING}_count`, labels: this.labels, value: this.#count },
    );
    return { started: { labels: this.labels, value: this.#started }, handled, histogram };
  }
}

interface Value {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

const HANDLING = 'grpc_server_handling_seconds';

/**
 * The standard gRPC server series (go-grpc-prometheus names, so existing dashboards work):
 * `grpc_server_started_total`, `grpc_server_handled_total{grpc_code}` and the
 * `grpc_server_handling_seconds` histogram, all labelled `grpc_type`, `grpc_service`, `grpc_method`.
 * Label values come only from service definitions and status codes.
 */
export class GrpcServerMetrics {
  readonly #methods = new Map<string, GrpcMethodMetrics>();

  constructor(registry: Registry) {
    const all = (): GrpcMethodMetrics[] => [...this.#methods.values()];
    register(registry, 'grpc_server_started_total', 'RPCs started on the server.', 'counter', () =>
      all().map((m) => m.values().started),
    );
    register(registry, 'grpc_server_handled_total', 'RPCs completed on the server, by status code.', 'counter', () =>
      all().flatMap((m) => m.values().handled),
    );
    register(registry, HANDLING, "Time from the call's arrival (headers read, before its message) to its status, in seconds.", 'histogram', () =>
      all().flatMap((m) => m.values().histogram),
    );
  }

  /** The pre-bound series of one method, created once per method path (`/pkg.Service/Method`). */
  method(type: GrpcType, path: string): GrpcMethodMetrics {
    let m = this.#methods.get(path);
    if (m === undefined) {
      const [, service = 'unknown', method = 'unknown'] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
      m = new GrpcMethodMetrics(type, service, method);
      this.#methods.set(path, m);
    }
    return m;
  }
}

/**
 * Registers a metric whose values are computed at scrape time. prom-client's Registry reads only
 * `name`, `help`, `type`, `aggregator` and `get()` from what it holds, which is what this provides.
 */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Value[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}
