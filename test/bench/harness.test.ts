import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { resolve } from '../../src/engine/resolve.js';
import { ResolveResponse } from '../../src/gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest, toResolveResponse } from '../../src/server/convert/resolve.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { finish } from '../../src/steps.js';

// The harness is plain ESM JavaScript run by node (bench/*.mjs); a computed specifier imports it
// without declaration files, so its exports are untyped here.
const load = (name: string) => import(new URL(`../../bench/${name}`, import.meta.url).href);
const { percentile, summarize } = await load('stats.mjs');
const { parseSummary, scheduledLatencies } = await load('h2load.mjs');
const { syntheticBundleData, syntheticRequest, reloadVariant } = await load('synthetic.mjs');

describe('percentile', () => {
  it('takes the nearest rank, so every reported figure is a latency some call had', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(500);
    expect(percentile(values, 99)).toBe(990);
    expect(percentile(values, 99.9)).toBe(999);
    expect(percentile(values, 100)).toBe(1000);
    expect(summarize([3, 1, 2]).max).toBe(3);
    expect(Number.isNaN(percentile(new Float64Array(0), 50))).toBe(true);
  });
});

describe('parseSummary', () => {
  it("reads h2load's totals, DATA bytes and request times in milliseconds", () => {
    const text = [
      'finished in 3.01s, 533.33 req/s, 469.47KB/s',
      'requests: 1600 total, 1664 started, 1600 done, 1600 succeeded, 0 failed, 0 errored, 0 timeout',
      'status codes: 1664 2xx, 0 3xx, 0 4xx, 0 5xx',
      'traffic: 1.38MB (1442211) total, 8.28KB (8479) headers (space savings 96.33%), 1.32MB (1386112) data',
      '                     min         max         mean         sd        +/- sd',
      'time for request:      575us    180.48ms      4.95ms      9.33ms    93.72%',
    ].join('\n');
    expect(parseSummary(text)).toEqual({
      seconds: 3.01, reqPerSec: 533.33, started: 1664, done: 1600, failed: 0, errored: 0, dataBytes: 1386112, meanMs: 4.95, maxMs: 180.48,
    });
  });
});

describe('scheduledLatencies', () => {
  it('measures from the scheduled send time, so a stalled client or server cannot hide the wait', () => {
    // 1,000/s: scheduled every 1,000 µs from t0. Each answer takes 500 µs, but calls 5..9 were
    // sent 20 ms late (behind a stall): their latency from schedule is 20.5 ms, not 0.5 ms.
    const t0 = 1_700_000_000_000_000;
    const rows = Array.from({ length: 10 }, (_, k) => [t0 + k * 1000 + (k >= 5 ? 20_000 : 0), 200, 500]);
    const r = scheduledLatencies(rows.reverse(), 1000, 1000); // a 1 ms tick: an even schedule
    expect(r.t0Us).toBe(t0);
    expect(r.maxSendLagMs).toBe(20);
    expect(r.latencyMs.p50).toBe(0.5);
    expect(r.latencyMs.max).toBe(20.5);
    expect(r.samples[9].latencyMs).toBe(20.5);
  });

  it("follows h2load's 10 ms timer: a burst sent on its tick is on time, a burst behind it is late", () => {
    // 5,000/s: h2load sends call 0 on connect, then 50 calls every 10 ms tick. Each answer takes
    // 500 µs; the third burst (calls 51..100 would be the second) leaves 3 ms after its tick.
    const t0 = 1_700_000_000_000_000;
    const sendUs = (k: number) => t0 + Math.ceil(k / 50) * 10_000 + (k > 100 && k <= 150 ? 3000 : 0);
    const rows = Array.from({ length: 201 }, (_, k) => [sendUs(k), 200, 500]);
    const r = scheduledLatencies(rows, 5000);
    expect(r.t0Us).toBe(t0);
    expect(r.maxSendLagMs).toBe(3);
    expect(r.latencyMs.p50).toBe(0.5); // an even 1/rate schedule would report ~5 ms here
    expect(r.samples[120].latencyMs).toBe(3.5);
  });

  it('measures a call that a late tick sent before its own tick from its send', () => {
    // The first tick fires 600 µs late and sends what came due by then: calls 1..53, one more
    // than on time. Nothing is charged for being early; the 600 µs lag of calls 1..50 is.
    const t0 = 1_700_000_000_000_000;
    const sendUs = (k: number) => (k === 0 ? t0 : k <= 53 ? t0 + 10_600 : t0 + Math.ceil(k / 50) * 10_000);
    const rows = Array.from({ length: 151 }, (_, k) => [sendUs(k), 200, 500]);
    const r = scheduledLatencies(rows, 5000);
    expect(r.t0Us).toBe(t0);
    expect(r.maxSendLagMs).toBe(0.6);
    expect(r.samples[1].latencyMs).toBe(1.1);
    expect(r.samples[52].latencyMs).toBe(0.5);
    expect(r.latencyMs.p50).toBe(0.5);
  });
});

describe('synthetic workload', () => {
  const snapshotOf = (json: string) => {
    const result = finish(compile(parseBundleText(json, 'synthetic.json'), { mode: 'strict' }));
    if (!result.ok) throw new Error(result.issues[0]?.message);
    return result.snapshot;
  };

  it('builds a strictly valid bundle with half as many policies as attachments', () => {
    const snapshot = snapshotOf(JSON.stringify(syntheticBundleData(2000)));
    expect(snapshot.policies.size).toBe(1000);
    expect(snapshot.attachments.size).toBe(2000);
  });

  it("reload variants change the revision but not the benchmark request's answer (h2load counts OK answers by size)", () => {
    const json = JSON.stringify(syntheticBundleData(2000));
    const request = toResolveRequest(syntheticRequest(2000, 0));
    const answer = (text: string) => toResolveResponse(resolve(snapshotOf(text), request));
    const before = answer(json);
    const after = answer(reloadVariant(json, 1));
    expect(after.revision).not.toBe(before.revision);
    expect(before.matchedPolicies.length).toBeGreaterThan(0);
    expect({ ...after, revision: '' }).toEqual({ ...before, revision: '' });
    expect(ResolveResponse.encode(after).finish().length).toBe(ResolveResponse.encode(before).finish().length);
  });
});

describe('checkTargets: the injector', () => {
  it("checks the sequential review p99 against docs/performance.md's 5 ms", async () => {
    const { checkTargets } = await load('table.mjs');
    const section = (p99: number) => ({ injector: { sequential: { latencyMs: { p99 } } } });
    expect(checkTargets(section(1.2))).toEqual([{ target: 'injector review p99 < 5 ms (one keep-alive connection)', figure: '1.2 ms', met: true }]);
    expect(checkTargets(section(7))[0].met).toBe(false);
  });
});

describe('summaryMarkdown: the README table', () => {
  it('puts each figure next to the bare server of the same run, as a ratio, with the run and its machine', async () => {
    const { summaryMarkdown } = await load('summary.mjs');
    const lat = (p50: number, p99: number) => ({ p50, p90: p50, p99, p999: p99, max: p99 });
    const open = (traffic: string, fraction: number, p99: number, cpu: number, rss: number) => ({ mode: 'open', traffic, fraction, achievedRps: 1000 * fraction, latencyMs: lat(1, p99), errors: 0, serverCpuUsPerCall: cpu, rssMaxMb: rss });
    const results = {
      startedAt: '2026-12-03T05:00:00.000Z',
      serverFlags: '--max-semi-space-size=4',
      machine: { cpu: 'Test CPU', cores: 2, memoryGb: 24, node: 'v20.20.2', loadAverage: [0.1, 0.2, 0.3], pinning: 'server on core 0' },
      sections: {
        throughput: { streams: 100, pdp: { reqPerSec: 9000 }, bare: { reqPerSec: 10000 }, ratio: 0.9 },
        misses: {
          fractions: [0.3],
          pdp: [open('repeat', 0.3, 4, 80, 140), open('new', 0.3, 6, 120, 160), { mode: 'closed', traffic: 'new', reqPerSec: 700, rssMaxMb: 150 }],
          bare: [open('new', 0.3, 4, 100, 90), { mode: 'closed', traffic: 'new', reqPerSec: 1000, rssMaxMb: 95 }],
          ratios: [{ traffic: 'repeat', fraction: 0.3, p50: 1, p99: 1, cpuPerCall: 0.8 }, { traffic: 'new', fraction: 0.3, p50: 1, p99: 1.5, cpuPerCall: 1.2 }],
          closedRatio: 0.7,
        },
      },
    };
    const text: string = summaryMarkdown(results, 'run.json');
    expect(text.split('\n')[0]).toBe(
      'Run of 2026-12-03 (`npm run bench`, run.json): Test CPU, 2 cores, 24 GB, Node 20.20.2, load average 0.1 0.2 0.3 at the start; server on core 0; server flags `--max-semi-space-size=4`.',
    );
    expect(text).toContain('| throughput, closed loop (h2load, 100 in flight), one repeated context | 9,000 req/s | 10,000 req/s | 0.9x | ≥ 0.8x: met |');
    expect(text).toContain('| throughput, closed loop (100 in flight), every context new | 700 req/s | 1,000 req/s | 0.7x | ≥ 0.8x: **not met** |');
    expect(text).toContain('every context new (memo misses): p50 / p99 ms, errors | 1 / 6, 0 | 1 / 4, 0 | 1x / 1.5x | p99 ≤ 1.25x: **not met** |');
    expect(text).toContain('| server CPU per call at 30%, memo misses (µs, /proc) | 120 | 100 | 1.2x | ≤ 1.5x: met |');
    expect(text).toContain('| peak RSS, 10,000 policies, repeated / new contexts (MB) | 140 / 160 | 95 |  | < 150 MB: **not met** |');
    expect(text).not.toContain('activation'); // no reload section in this run: no row
  });
});
