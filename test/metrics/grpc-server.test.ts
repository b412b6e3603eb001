import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GrpcServerMetrics, HANDLING_BUCKETS_SECONDS } from '../../src/metrics/grpc-server.js';

const RESOLVE = '/guardrail.pdp.v1.DecisionService/Resolve';
const LABELS = 'grpc_type="unary",grpc_service="guardrail.pdp.v1.DecisionService",grpc_method="Resolve"';

function setup(): { metrics: GrpcServerMetrics; scrape: () => Promise<string> } {
  const registry = new Registry();
  return { metrics: new GrpcServerMetrics(registry), scrape: () => registry.metrics() };
}

describe('GrpcServerMetrics', () => {
  it('counts started and handled calls with the status code by name', async () => {
    const { metrics, scrape } = setup();
    const m = metrics.method('unary', RESOLVE);
    m.started();
    m.started();
    m.started();
    m.handled(0, 0.0001);
    m.handled(0, 0.0001);
    m.handled(3, 0.0001);
    const text = await scrape();
    expect(text).toContain(`grpc_server_started_total{${LABELS}} 3`);
    expect(text).toContain(`grpc_server_handled_total{${LABELS},grpc_code="OK"} 2`);
    expect(text).toContain(`grpc_server_handled_total{${LABELS},grpc_code="INVALID_ARGUMENT"} 1`);
    expect(text).not.toContain('grpc_code="NOT_FOUND"');
  });

  it('counts codes it does not know as UNKNOWN', async () => {
    const { metrics, scrape } = setup();
    metrics.method('unary', RESOLVE).handled(99, 0.001);
    expect(await scrape()).toContain(`grpc_server_handled_total{${LABELS},grpc_code="UNKNOWN"} 1`);
  });

  it('exposes a cumulative histogram with buckets from 50 µs to 1 s', async () => {
    const { metrics, scrape } = setup();
    const m = metrics.method('unary', RESOLVE);
    m.handled(0, 0.00004); // <= 50 µs
    m.handled(0, 0.00025); // <= 300 µs
    m.handled(0, 0.0003); // <= 300 µs (bounds are inclusive)
    m.handled(0, 2); // above 1 s
    const text = await scrape();
    const buckets = [...text.matchAll(/^grpc_server_handling_seconds_bucket\{.*le="([^"]+)"\} (\S+)$/gm)].map((x) => [x[1], Number(x[2])]);
    expect(buckets.map(([le]) => le)).toEqual([...HANDLING_BUCKETS_SECONDS.map(String), '+Inf']);
    expect(buckets.map(([le]) => le)).toEqual([
      '0.00005', '0.0001', '0.0002', '0.0003', '0.0005', '0.00075', '0.001', '0.002', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25',
      '0.5', '1', '+Inf',
    ]);
    const count = Object.fromEntries(buckets);
    expect(count['0.00005']).toBe(1);
    expect(count['0.0002']).toBe(1);
    expect(count['0.0003']).toBe(3);
    expect(count['1']).toBe(3);
    expect(count['+Inf']).toBe(4);
    expect(text).toContain(`grpc_server_handling_seconds_count{${LABELS}} 4`);
    const sum = new RegExp(`^grpc_server_handling_seconds_sum\\{${LABELS}\\} (\\S+)$`, 'm').exec(text)?.[1];
    expect(Number(sum)).toBeCloseTo(2.00059, 9);
  });

  it('labels server-streaming methods by type and keeps one series set per method', async () => {
    const { metrics, scrape } = setup();
    const watch = metrics.method('server_stream', '/guardrail.pdp.v1.DecisionService/Watch');
    expect(metrics.method('server_stream', '/guardrail.pdp.v1.DecisionService/Watch')).toBe(watch);
    watch.started();
    watch.handled(1, 5);
    const text = await scrape();
    expect(text).toContain(
      'grpc_server_handled_total{grpc_type="server_stream",grpc_service="guardrail.pdp.v1.DecisionService",grpc_method="Watch",grpc_code="CANCELLED"} 1',
    );
    expect(text).toContain('# TYPE grpc_server_handling_seconds histogram');
    expect(text).toContain('# TYPE grpc_server_started_total counter');
  });
});
