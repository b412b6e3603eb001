import { describe, expect, it } from 'vitest';
import type { ActivationEvent } from '../../src/activation/activator.js';
import { PdpError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { MAX_KIND_LABELS } from '../../src/metrics/steps.js';
import { snapshotOf } from '../helpers/snapshot.js';

const A = snapshotOf('policies:\n  a: { guardrails: { add: [g] } }\npolicy_attachments:\n  - { policy: a, scope: "*" }\n');
const B = snapshotOf('policies:\n  a: { guardrails: { add: [g] } }\n  b: { guardrails: { add: [h] } }\n');

const timing = { at: new Date(), durationMs: 5, loadMs: 1 };
const activated = (snapshot: typeof A): ActivationEvent => ({ kind: 'activated', snapshot, issues: [], ...timing });
const error = new PdpError('BUNDLE_INVALID', 'bad');
const failed: ActivationEvent = { kind: 'failed', origin: 'x', error, message: error.message, issues: [], serving: undefined, ...timing };

describe('createMetrics', () => {
  it('keeps exactly one live pdp_snapshot_info series across swaps', async () => {
    const m = createMetrics();
    m.observeActivation(activated(A));
    m.observeActivation(activated(B));
    const text = await m.registry.metrics();
    const info = text.split('\n').filter((l) => l.startsWith('pdp_snapshot_info{'));
    expect(info).toEqual([`pdp_snapshot_info{revision="${B.revision}"} 1`]);
    expect(text).toContain('pdp_snapshot_policies 2');
    expect(text).toContain('pdp_snapshot_attachments 0');
    expect(text).toContain('pdp_activations_total{result="activated"} 2');
  });

  it('counts a failed activation without touching the snapshot series', async () => {
    const m = createMetrics();
    m.observeActivation(activated(A));
    m.observeActivation(failed);
    const text = await m.registry.metrics();
    expect(text).toContain('pdp_activations_total{result="failed"} 1');
    expect(text).toContain(`pdp_snapshot_info{revision="${A.revision}"} 1`);
    expect(text).toContain('pdp_snapshot_policies 1');
  });

  it('reports seconds since the last successful activation at scrape time', async () => {
    let now = 1_000_000;
    const m = createMetrics({ now: () => now });
    expect(await m.registry.metrics()).toContain('pdp_seconds_since_last_activation Nan');
    m.observeActivation(activated(A));
    now += 42_500;
    expect(await m.registry.metrics()).toContain('pdp_seconds_since_last_activation 42.5');
    m.observeActivation(failed); // a failure does not reset the clock
    now += 1000;
    expect(await m.registry.metrics()).toContain('pdp_seconds_since_last_activation 43.5');
    m.observeActivation({ kind: 'unchanged', snapshot: A, issues: [], ...timing });
    expect(await m.registry.metrics()).toContain('pdp_seconds_since_last_activation 0');
  });

  it('counts pipeline steps by kind and outcome', async () => {
    const m = createMetrics();
    m.observeStep('generic_guardrail_api', 'pass');
    m.observeStep('generic_guardrail_api', 'pass');
    m.observeStep('litellm_content_filter', 'fail');
    m.observeStep('presidio', 'error');
    let text = await m.registry.metrics();
    expect(text).toContain('pdp_pipeline_steps_total{kind="generic_guardrail_api",outcome="pass"} 2');
    expect(text).toContain('pdp_pipeline_steps_total{kind="litellm_content_filter",outcome="fail"} 1');
    expect(text).toContain('pdp_pipeline_steps_total{kind="presidio",outcome="error"} 1');
    m.observeStep('generic_guardrail_api', 'pass');
    text = await m.registry.metrics(); // a second scrape adds only what happened since the first
    expect(text).toContain('pdp_pipeline_steps_total{kind="generic_guardrail_api",outcome="pass"} 3');
  });

  it(`gives at most ${MAX_KIND_LABELS} kinds their own series, the rest count as "other"`, async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_KIND_LABELS + 10; i++) m.observeStep(`kind_${i}`, 'pass');
    const text = await m.registry.metrics();
    const kinds = new Set([...text.matchAll(/^pdp_pipeline_steps_total\{kind="([^"]+)"/gm)].map((x) => x[1]));
    expect(kinds.size).toBe(MAX_KIND_LABELS + 1);
    expect(text).toContain('pdp_pipeline_steps_total{kind="other",outcome="pass"} 10');
  });

  it('observes HTTP guardrail calls by kind and result', async () => {
    const m = createMetrics();
    m.observeHttpCall('generic_guardrail_api', 0.02, 'ok');
    m.observeHttpCall('generic_guardrail_api', 5, 'timeout');
    const text = await m.registry.metrics();
    expect(text).toContain('pdp_http_guardrail_seconds_count{kind="generic_guardrail_api",result="ok"} 1');
    expect(text).toContain('pdp_http_guardrail_seconds_bucket{le="0.025",kind="generic_guardrail_api",result="ok"} 1');
    expect(text).toContain('pdp_http_guardrail_seconds_count{kind="generic_guardrail_api",result="timeout"} 1');
  });

  it("reads open Watch streams and calls in flight from their owners at scrape time", async () => {
    let streams = 3;
    const m = createMetrics({ openWatchStreams: () => streams, callsInFlight: () => 7 });
    expect(await m.registry.metrics()).toContain('pdp_watch_streams 3');
    streams = 1;
    const text = await m.registry.metrics();
    expect(text).toContain('pdp_watch_streams 1');
    expect(text).toContain('pdp_calls_in_flight 7');
  });

  it("includes Node's process metrics with event-loop lag, on its own registry", async () => {
    const a = createMetrics();
    const b = createMetrics(); // a second app in the same process: no duplicate-registration error
    const text = await a.registry.metrics();
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(text).toContain('process_resident_memory_bytes');
    expect(b.registry).not.toBe(a.registry);
  });
});
