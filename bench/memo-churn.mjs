// The Resolve memo under traffic that never repeats, and under a mix: the real handler
// (server/handlers/resolve.ts) called in process, as grpc-js calls it, with the memo off, storing
// every miss, and storing only second misses (the doorkeeper). Reports per call: time, bytes
// allocated (heap growth plus what GC freed), GC time and the longest pause, and the hit rate.
// Run under the server's V8 flags, pinned:
//   npm run build && taskset -c 0 node --max-semi-space-size=4 bench/memo-churn.mjs [CALLS] [ATTACHMENTS]
import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { compile } from '../dist/compile/compile.js';
import { ResolveRequest } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { createResolveHandler } from '../dist/server/handlers/resolve.js';
import { SnapshotMemos } from '../dist/server/handlers/resolve-memo.js';
import { parseBundleText } from '../dist/sources/document/bundle-text.js';
import { finish } from '../dist/steps.js';
import { round } from './stats.mjs';
import { syntheticBundleData, syntheticRequest } from './synthetic.mjs';

const calls = Number(process.argv[2] ?? 200_000);
const attachments = Number(process.argv[3] ?? 20_000);
const compiled = finish(compile(parseBundleText(JSON.stringify(syntheticBundleData(attachments)), 'synthetic.json'), { mode: 'strict' }));
const holder = { current: () => compiled.snapshot };
const log = pino({ level: 'silent' });

/** Request k of a traffic: 'new' never repeats; 'mix' is 1 in 10 new, else one of 2,000 repeated contexts. */
function requestBytes(traffic, k, run) {
  const isNew = traffic === 'new' || k % 10 === 0;
  const r = syntheticRequest(attachments, isNew ? k : (k * 7) % 2000);
  if (isNew) r.context.keyAlias = `${r.context.keyAlias}-${run}-${k}`;
  return Buffer.from(ResolveRequest.encode(r).finish());
}

let gcMs = 0;
let gcMaxMs = 0;
let gcMajor = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
    if (e.detail?.kind === 4 /* NODE_PERFORMANCE_GC_MAJOR */) gcMajor++;
  }
}).observe({ entryTypes: ['gc'] });

const settings = { off: { maxEntries: 0 }, 'every miss': { isSecondMissOnly: false }, 'second miss': { isSecondMissOnly: true } };
let run = 0;
const rows = [];
for (const traffic of ['new', 'mix']) {
  for (const [name, limits] of Object.entries(settings)) {
    const memos = new SnapshotMemos(limits);
    const handler = createResolveHandler({ holder, log, memos });
    const bodies = Array.from({ length: calls }, (_, k) => requestBytes(traffic, k, run++));
    let hits = 0;
    let sink = 0;
    const callback = (_err, answer) => { sink += answer?.length ?? 0; };
    // Warm-up on other bodies (JIT, memo full), then the measured calls.
    const warm = Array.from({ length: 30_000 }, (_, k) => requestBytes(traffic, k + calls, run++));
    for (const b of warm) handler({ request: b }, callback);
    await new Promise((r) => setTimeout(r, 50));
    gcMs = 0; gcMaxMs = 0; gcMajor = 0;
    const heap0 = process.memoryUsage().heapUsed;
    const memo = memos.peek(compiled.snapshot);
    const t = performance.now();
    for (let k = 0; k < calls; k++) handler({ request: bodies[k] }, callback);
    const us = ((performance.now() - t) * 1000) / calls;
    await new Promise((r) => setTimeout(r, 50)); // let the observer see the last GCs
    // Hit rate: the same calls again against a fresh memo, counting answers found.
    const memos2 = new SnapshotMemos(limits);
    const h2 = createResolveHandler({ holder, log, memos: memos2 });
    for (const b of bodies) {
      const m = memos2.peek(compiled.snapshot);
      if (m !== undefined && b.length <= 2048 && m.get(b.toString('latin1')) !== undefined) hits++;
      h2({ request: b }, callback);
    }
    if (sink < 0) process.stdout.write('\n');
    rows.push({ traffic, memo: name, usPerCall: round(us, 2), gcMsPer1000Calls: round((gcMs / calls) * 1000, 2), gcMaxMs: round(gcMaxMs, 2), majorGcs: gcMajor, heapGrowthMb: round((process.memoryUsage().heapUsed - heap0) / 2 ** 20, 1), hitRate: round(hits / calls, 3), memoEntries: memo?.size ?? 0 });
  }
}
for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
