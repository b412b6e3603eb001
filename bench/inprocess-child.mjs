// In-process Resolve at one bundle size, in its own process (started by inprocess.mjs with
// --expose-gc and a fixed 64 MB semi-space). Prints one JSON line.
//   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/inprocess-child.mjs ATTACHMENTS CALLS
// Two paths are measured: `engine` is resolve() alone (the model request already built); `handler`
// is what the gRPC handler does besides grpc-js itself on a call the memo does not answer: check
// the request bytes strictly (server/convert/wire-check.ts) and read them into the model request,
// resolve, and encode the decision (server/convert/resolve-bytes.ts).
// Time: each call timed alone with performance.now() (its ~40 ns cost is included); median and
// p99 over CALLS calls after a warm-up of the same length.
// Bytes per call: after gc(), heapUsed grows by exactly what the calls allocate as long as no
// GC runs (young objects are bump-allocated); a 64 MB new space leaves room for a batch of 2,048
// calls, and a batch during which a GC ran (seen by a PerformanceObserver) is retried. The large
// young generation also makes scavenges rare while timing: GC pauses are measured by the load
// sections, under the server's real flags; this section measures our code.
import { PerformanceObserver } from 'node:perf_hooks';
import { compile } from '../dist/compile/compile.js';
import { resolve } from '../dist/engine/resolve.js';
import { ResolveRequest } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest } from '../dist/server/convert/resolve.js';
import { createDecisionEncoder, readResolveRequest } from '../dist/server/convert/resolve-bytes.js';
import { parseBundleText } from '../dist/sources/document/bundle-text.js';
import { round, percentile } from './stats.mjs';
import { syntheticBundleData, syntheticRequest } from './synthetic.mjs';
import { finish } from '../dist/steps.js';

const attachments = Number(process.argv[2]);
const calls = Number(process.argv[3] ?? 100_000);
if (!(attachments > 0) || typeof globalThis.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc ... inprocess-child.mjs ATTACHMENTS [CALLS]\n');
  process.exit(2);
}

const compiled = finish(compile(parseBundleText(JSON.stringify(syntheticBundleData(attachments)), 'synthetic.json'), { mode: 'strict' }));
if (!compiled.ok) throw new Error(`synthetic bundle does not compile: ${compiled.issues[0]?.message}`);
const snapshot = compiled.snapshot;
const pbRequests = Array.from({ length: 1024 }, (_, i) => syntheticRequest(attachments, i));
const modelRequests = pbRequests.map(toResolveRequest);
const encodedRequests = pbRequests.map((r) => ResolveRequest.encode(r).finish());

const encode = createDecisionEncoder();
let sink = 0; // keeps results alive so the calls cannot be optimized away
const paths = {
  engine: (i) => { sink += resolve(snapshot, modelRequests[i & 1023]).guardrails.length; },
  handler: (i) => {
    sink += encode(resolve(snapshot, readResolveRequest(encodedRequests[i & 1023]))).length;
  },
};

let gcRuns = 0;
new PerformanceObserver((list) => { gcRuns += list.getEntries().length; }).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setTimeout(r, 20)); // lets the observer see the GCs so far

async function bytesPerCall(fn) {
  // Two full cycles of the 1,024-request mix (~20 MB at most), so every batch has the same mix.
  const batch = 2048;
  for (let attempt = 0; attempt < 3; attempt++) {
    globalThis.gc();
    await settle();
    const gcBefore = gcRuns;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++) fn(i);
    const after = process.memoryUsage().heapUsed;
    await settle();
    if (gcRuns === gcBefore) return Math.round((after - before) / batch);
  }
  return null;
}

function timePerCall(fn) {
  for (let i = 0; i < calls; i++) fn(i); // warm-up: JIT, memo tables
  const us = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    fn(i);
    us[i] = (performance.now() - t) * 1000;
  }
  us.sort();
  return { medianUs: round(percentile(us, 50)), p99Us: round(percentile(us, 99)) };
}

const result = { attachments, policies: snapshot.policies.size, calls };
for (const [name, fn] of Object.entries(paths)) result[name] = { ...timePerCall(fn), bytesPerCall: await bytesPerCall(fn) };
process.stdout.write(`${JSON.stringify(result)}\n`);
if (sink < 0) process.stdout.write('\n');
