import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthClient } from '../../src/gen/health/v1/health.js';
import { METRICS_CACHE_MS } from '../../src/metrics/http.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';
import { nextRevision, openWatch, waitFor } from '../helpers/watch.js';

const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;
const RESOLVE = 'grpc_type="unary",grpc_service="guardrail.pdp.v1.DecisionService",grpc_method="Resolve"';

let s: Started;
afterEach(async () => {
  await s?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://${s.adminAddress}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one exposition line, by its exact name and labels. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics after real RPCs', () => {
  it('exposes the standard gRPC series with codes by name and sub-millisecond buckets', async () => {
    s = await startApp(EXAMPLE);
    await callResolve(s.client, { context: { teamAlias: 'health-team', model: 'gpt-4', tags: [] } });
    await callResolve(s.client, {});
    await callResolve(s.client, { requestPolicies: [''] }).catch(() => undefined); // INVALID_ARGUMENT
    const text = await scrape();
    expect(value(text, `grpc_server_started_total{${RESOLVE}}`)).toBe(3);
    expect(value(text, `grpc_server_handled_total{${RESOLVE},grpc_code="OK"}`)).toBe(2);
    expect(value(text, `grpc_server_handled_total{${RESOLVE},grpc_code="INVALID_ARGUMENT"}`)).toBe(1);
    const les = [...text.matchAll(new RegExp(`^grpc_server_handling_seconds_bucket\\{${RESOLVE},le="([^"]+)"\\}`, 'gm'))].map((m) => m[1]);
    expect(les).toEqual(['0.00005', '0.0001', '0.0002', '0.0003', '0.0005', '0.00075', '0.001', '0.002', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '+Inf']);
    expect(value(text, `grpc_server_handling_seconds_count{${RESOLVE}}`)).toBe(3);
  });

  it('measures the health service too, and Watch streams when they end', async () => {
    s = await startApp(EXAMPLE);
    const health = new HealthClient(s.grpcAddress, credentials.createInsecure());
    await new Promise((resolve, reject) => health.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))));
    health.close();
    const watch = openWatch(s.client);
    await watch.nextEvent();
    let text = await scrape();
    expect(value(text, 'grpc_server_handled_total{grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="OK"}')).toBe(1);
    expect(value(text, 'pdp_watch_streams')).toBe(1);
    const watchLabels = 'grpc_type="server_stream",grpc_service="guardrail.pdp.v1.DecisionService",grpc_method="Watch"';
    expect(value(text, `grpc_server_started_total{${watchLabels}}`)).toBe(1);
    watch.cancel();
    await waitFor(() => s.app.server.openWatchStreams === 0, 5000, 'the Watch stream to close');
    await new Promise((r) => setTimeout(r, METRICS_CACHE_MS + 50)); // past the cached rendering
    text = await scrape();
    expect(value(text, `grpc_server_handled_total{${watchLabels},grpc_code="CANCELLED"}`)).toBe(1);
    expect(value(text, 'pdp_watch_streams')).toBe(0);
  });

  it('keeps exactly one pdp_snapshot_info series after a reload, and reports activations', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pdp-metrics-')), 'bundle.yaml');
    writeFileSync(path, 'policies:\n  a: { guardrails: { add: [g] } }\n');
    s = await startApp(path);
    const watch = openWatch(s.client);
    const first = await nextRevision(watch);
    writeFileSync(path, 'policies:\n  a: { guardrails: { add: [g] } }\n  b: { guardrails: { add: [h] } }\n');
    const second = await nextRevision(watch, 10_000);
    watch.cancel();
    const text = await scrape();
    const info = text.split('\n').filter((l) => l.startsWith('pdp_snapshot_info{'));
    expect(info).toEqual([`pdp_snapshot_info{revision="${second}"} 1`]);
    expect(second).not.toBe(first);
    expect(value(text, 'pdp_snapshot_policies')).toBe(2);
    expect(value(text, 'pdp_activations_total{result="activated"}')).toBe(2);
    expect(value(text, 'pdp_seconds_since_last_activation')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'pdp_seconds_since_last_activation')).toBeLessThan(60);
  });

  it("includes Node's process metrics, event-loop lag among them", async () => {
    s = await startApp(EXAMPLE);
    const text = await scrape();
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total', 'pdp_calls_in_flight'])
      expect(text).toContain(`# TYPE ${name} `);
  });
});

describe('the admin listener', () => {
  it('serves /healthz, /readyz and /metrics (GET and HEAD) and nothing else', async () => {
    s = await startApp(EXAMPLE);
    const base = `http://${s.adminAddress}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/debug/pprof`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
