// Prints the results as tables and writes them as JSON (bench/results/<timestamp>.json and
// bench/results/latest.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const f = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 }));
const row = (cells, widths) => cells.map((c, i) => String(c).padEnd(widths[i] ?? 10)).join(' ').trimEnd();
const lat = (l) => [f(l?.p50), f(l?.p90), f(l?.p99), f(l?.p999), f(l?.max)];
const codes = (c) => (c ? Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') : 'n/a');

function inprocess(s, out) {
  out.push(`In-process Resolve, no gRPC (${f(s.calls)} timed calls per size; engine = resolve(); handler = decode + check + resolve + encode)`);
  const w = [12, 9, 24, 12, 24, 12];
  out.push(row(['attachments', 'policies', 'engine median/p99 µs', 'bytes/call', 'handler median/p99 µs', 'bytes/call'], w));
  for (const r of s.rows) out.push(row([f(r.attachments), f(r.policies), `${f(r.engine.medianUs)} / ${f(r.engine.p99Us)}`, f(r.engine.bytesPerCall), `${f(r.handler.medianUs)} / ${f(r.handler.p99Us)}`, f(r.handler.bytesPerCall)], w));
}

function pipeline(s, out) {
  out.push(`In-process ExecutePipeline, no gRPC: ${s.steps} built-in steps over a ${f(s.promptChars)}-character prompt (${f(s.calls)} timed calls)`);
  const w = [12, 24];
  out.push(row(['path', 'median/p99 µs'], w));
  for (const name of ['engine', 'handler']) out.push(row([name, `${f(s[name].medianUs)} / ${f(s[name].p99Us)}`], w));
}

function client(s, out) {
  out.push(`TypeScript client (src/client/) against the real server (${f(s.attachments)} attachments)`);
  const h = s.hit;
  out.push(`cache hit, await client.resolve(): ${f(h.nsPerCall, 0)} ns per call (median of 7 rounds of ${f(h.calls)}; ${f(h.minNs, 0)}-${f(h.maxNs, 0)}), of which the canonical key ${f(h.keyNs, 0)} ns`);
  const w = [34, 7, 7, 7, 7, 8];
  out.push(row(['miss: one round trip, µs', 'p50', 'p90', 'p99', 'p99.9', 'max'], w));
  out.push(row(['new request (server computes it)', ...lat(s.miss.computedUs)], w));
  out.push(row(["repeated (server's memo)", ...lat(s.miss.memoUs)], w));
  const z = s.zipf;
  out.push(`hit rate, Zipf workload: ${f(z.teams)} teams (s=${z.teamExponent}) x ${z.keysPerTeam} keys each (s=${z.keyExponent}) x ${z.models} models (s=${z.modelExponent}, ranked per key), one reload halfway`);
  const wz = [12, 10, 9, 10, 10, 9, 9, 9, 10];
  out.push(row(['max entries', 'requests', 'hit rate', '1st half', '2nd half', 'ceiling', 'distinct', 'RPCs', 'KiB held'], wz));
  const pct = (v) => `${f(v * 100, 1)}%`;
  for (const r of z.rows) out.push(row([f(r.maxEntries), f(r.requests), pct(r.hitRate), pct(r.firstHalf), pct(r.secondHalf), pct(r.ceiling), f(r.distinctRequests), f(r.rpcs), f(r.bytes / 1024, 0)], wz));
  out.push('(ceiling: an unbounded cache without reloads, 1 - distinct / requests)');
}

function injector(s, out) {
  out.push(`Sidecar injector: ms per AdmissionReview over HTTPS, send to last byte (${f(s.reviewBytes)}-byte review of a Deployment's pod; RSS ${f(s.rssMb)} MB)`);
  const w = [40, 9, 7, 7, 7, 7, 8];
  out.push(row(['calls', 'reviews/s', 'p50', 'p90', 'p99', 'p99.9', 'max'], w));
  for (const [name, r] of [['sequential, one keep-alive connection', s.sequential], ['8 in flight, keep-alive', s.concurrent], ['a new TLS connection each', s.newConnection]]) {
    out.push(row([name, f(r.reviewsPerSec, 0), ...lat(r.latencyMs)], w));
  }
  const server = s.sequential.server;
  if (server) out.push(`sequential, by the injector's histogram (arrival to answer): ${f((100 * server.within1ms) / server.count, 2)}% within 1 ms, ${f((100 * server.within5ms) / server.count, 2)}% within 5 ms`);
  out.push(`reviewAdmission alone (parsed review in, answer out): median ${f(s.inprocess.medianUs)} µs, p99 ${f(s.inprocess.p99Us)} µs`);
}

function review(s, out) {
  out.push(`Policy review commands, wall clock of the CLI as CI runs it (${f(s.policies)} policies / ${f(s.attachments)} attachments per set; diff: ${f(s.diffCells)} cells, ${f(s.diffWitnesses)} witnesses; ${f(s.keys)} keys)`);
  const w = [44, 22, 26];
  out.push(row(['command', 'median (min-max) s', 'inventory phase ms'], w));
  for (const r of s.rows) out.push(row([r.name, `${f(r.median)} (${f(r.min)}-${f(r.max)})`, r.inventoryMs ? `${f(r.inventoryMs.median, 0)} (${f(r.inventoryMs.min, 0)}-${f(r.inventoryMs.max, 0)})` : ''], w));
}

function throughput(s, out) {
  out.push(`Closed-loop maximum (h2load, ${s.clients} connection x ${s.streams} calls in flight, ${s.seconds} s)`);
  const w = [16, 9, 9, 8, 9, 8, 7];
  out.push(row(['server', 'req/s', 'OK', 'not OK', 'mean ms', 'max ms', 'RSS MB'], w));
  for (const [name, r] of [['guardrail-pdp', s.pdp], ['bare grpc-js', s.bare]]) out.push(row([name, f(r.reqPerSec, 0), f(r.ok), f(r.notOk), f(r.meanMs), f(r.maxMs), f(r.rssMb, 0)], w));
  out.push(`ours / ceiling: ${f(s.ratio, 3)}`);
}

function latency(s, out) {
  out.push(`Open loop (h2load --rps, 1 connection; ms from each call's scheduled send time; ${s.seconds} s per rate)`);
  const w = [7, 6, 9, 7, 7, 7, 7, 8, 7, 7];
  out.push(row(['rate', 'server', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors', 'RSS MB'], w));
  s.pdp.forEach((r, i) => {
    for (const [name, x] of [['pdp', r], ['bare', s.bare[i]]]) out.push(row([f(x.rate), name, f(x.achievedRps, 0), ...lat(x.latencyMs), f(x.errors), f(x.rssMaxMb, 0)], w));
  });
  out.push(`ours / ceiling, p50 and p99: ${s.ratios.map((r) => `${f(r.rate)}/s ${f(r.p50)}x ${f(r.p99)}x`).join('; ')}`);
  const at5k = s.pdp.find((r) => r.rate === 5000);
  if (at5k) out.push(`RSS of the real server with ${'10,000'} policies at 5,000 req/s: ${f(at5k.rssMaxMb, 0)} MB (peak)`);
}

function misses(s, out) {
  out.push(`Every call a new context (memo misses) next to one repeated context (hits): open loop at fractions of the bare server's capacity, ${f(s.capacity, 0)} req/s (${s.capacityFrom}), ${s.seconds} s per row; Node HTTP/2 client (bench/grpc-load-child.mjs), a body per call`);
  const w = [8, 9, 7, 9, 7, 7, 7, 7, 8, 7, 10, 7];
  out.push(row(['server', 'traffic', 'rate', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors', 'CPU µs/call', 'RSS MB'], w));
  for (const [name, rows] of [['pdp', s.pdp], ['bare', s.bare]]) {
    for (const r of rows) {
      const rate = r.mode === 'open' ? `${f(r.fraction * 100, 0)}%` : `closed ${r.inFlight}`;
      const achieved = r.mode === 'open' ? r.achievedRps : r.reqPerSec;
      out.push(row([name, r.traffic, rate, f(achieved, 0), ...lat(r.latencyMs), f(r.errors), f(r.serverCpuUsPerCall, 1), f(r.rssMaxMb, 0)], w));
    }
  }
  out.push(`ours / bare, same rate and bodies: ${s.ratios.map((r) => `${r.traffic} ${f(r.fraction * 100, 0)}%: p50 ${f(r.p50)}x, p99 ${f(r.p99)}x, CPU ${f(r.cpuPerCall)}x`).join('; ')}`);
  out.push(`closed loop, new contexts, 100 in flight: ours / bare ${f(s.closedRatio, 3)}`);
}

function transport(s, out) {
  out.push(`Loopback TCP against a Unix socket: ${s.client}, open loop at ${f(s.rate)}/s, ${s.seconds} s per row, median of ${s.rounds} alternating rounds`);
  const w = [8, 10, 9, 7, 7, 7, 7, 7];
  out.push(row(['server', 'transport', 'traffic', 'p50', 'p90', 'p99', 'p99.9', 'errors'], w));
  for (const r of s.summary) out.push(row([r.server, r.transport, r.traffic, f(r.p50, 3), f(r.p90, 3), f(r.p99, 3), f(r.p999, 3), f(r.errors)], w));
}

function reload(s, out) {
  out.push(`Reload under load: ${f(s.rate)} req/s, ${s.swaps} bundle swaps (${f(s.policies)} policies), one per second`);
  out.push(`activations ${s.activations}/${s.swaps}, activation ms median ${f(s.activationMs.median)} max ${f(s.activationMs.max)} (loading: median ${f(s.loadMs?.median)} max ${f(s.loadMs?.max)}); calls ${f(s.sent)}, errors ${f(s.errors)} (${codes(s.codes)}); achieved ${f(s.achievedRps, 0)}/s`);
  const w = [30, 7, 7, 7, 7, 8, 8];
  out.push(row(['latency ms', 'p50', 'p90', 'p99', 'p99.9', 'max', 'calls'], w));
  for (const [name, l] of [['before the swaps', s.baselineMs], ['swap period', s.swapPeriodMs], ['scheduled during an activation', s.inActivationMs]]) out.push(row([name, ...lat(l), f(l.count)], w));
}

function overload(s, out) {
  const b = s.burst;
  out.push(`Overload: ${f(b.rate)} req/s for ${b.seconds} s (3 x capacity ${f(s.capacity, 0)}/s, ${s.capacityFrom}), deadline ${s.deadlineMs} ms`);
  out.push(`burst: sent ${f(b.sent)}, OK ${f(b.ok)}, not OK ${f(b.notOk)}; server's handled_total counted ${f(b.serverCounted)}: ${codes(b.codes)}; achieved ${f(b.achievedRps, 0)}/s; p99 ${f(b.latencyMs.p99)} ms, max ${f(b.latencyMs.max)} ms`);
  out.push(`RSS MB: before ${f(s.rssMb.before, 0)}, peak in burst ${f(s.rssMb.maxDuringBurst, 0)}, after ${f(s.rssMb.after, 0)}`);
  for (const [name, r] of [['before', s.baseline], ['recovery', s.recovery]]) out.push(`${name} at ${f(r.rate)}/s: errors ${f(r.errors)}, p50 ${f(r.latencyMs.p50)} ms, p99 ${f(r.latencyMs.p99)} ms`);
}

function v8flags(s, out, title) {
  out.push(`${title}: real server at ${f(s.rate)} req/s open loop, ${s.seconds} s each (ms)`);
  const w = [46, 9, 7, 7, 7, 7, 8, 7, 7];
  out.push(row(['GC flags', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors', 'RSS MB'], w));
  for (const r of s.rows) out.push(row([r.gcFlags, f(r.achievedRps, 0), ...lat(r.latencyMs), f(r.errors), f(r.rssMaxMb, 0)], w));
  out.push(`lowest p99 without errors: ${s.bestByP99.gcFlags} (${f(s.bestByP99.p99Ms)} ms)`);
}

/** The targets of docs/performance.md, each met or not, from whichever sections ran. */
export function checkTargets(sections) {
  const out = [];
  const add = (target, figure, isMet) => out.push({ target, figure, met: isMet });
  const t = sections.throughput;
  if (t) add('throughput >= 80% of the bare server', `${f(t.ratio * 100, 1)}%`, t.ratio >= 0.8);
  const ours = sections.latency?.pdp.find((r) => r.rate === 5000);
  const bare = sections.latency?.bare.find((r) => r.rate === 5000);
  if (ours && bare) {
    add('5,000 req/s: p50 < 0.5 ms', `${f(ours.latencyMs.p50, 3)} ms`, ours.latencyMs.p50 < 0.5);
    add("5,000 req/s: p99 <= 1.25 x the bare server's", `${f(ours.latencyMs.p99 / bare.latencyMs.p99)} x`, ours.latencyMs.p99 <= 1.25 * bare.latencyMs.p99);
    add('5,000 req/s: p99 < 5 ms', `${f(ours.latencyMs.p99, 3)} ms`, ours.latencyMs.p99 < 5);
    add('RSS < 150 MB with 10,000 policies at 5,000 req/s', `${f(ours.rssMaxMb, 0)} MB`, ours.rssMaxMb < 150);
  }
  const m = sections.misses;
  const newAt30 = m?.ratios.find((r) => r.traffic === 'new' && r.fraction === 0.3);
  if (m && newAt30) {
    const row30 = m.pdp.find((r) => r.mode === 'open' && r.traffic === 'new' && r.fraction === 0.3);
    add("new contexts at 30% of capacity: p99 <= 1.25 x the bare server's, 0 errors", `${f(newAt30.p99)} x, ${f(row30.errors)} errors`, newAt30.p99 <= 1.25 && row30.errors === 0);
    add("new contexts: CPU per call <= 1.5 x the bare server's", `${f(newAt30.cpuPerCall)} x at 30%`, newAt30.cpuPerCall <= 1.5);
    add('new contexts, closed loop: >= 80% of the bare server', `${f(m.closedRatio * 100, 1)}%`, m.closedRatio >= 0.8);
  }
  const big = sections.inprocess?.rows.find((r) => r.attachments === 100_000);
  if (big) add('in-process Resolve median < 5 µs at 100,000 attachments', `${f(big.engine.medianUs)} µs`, big.engine.medianUs < 5);
  const inj = sections.injector?.sequential;
  if (inj) add('injector review p99 < 5 ms (one keep-alive connection)', `${f(inj.latencyMs.p99, 3)} ms`, inj.latencyMs.p99 < 5);
  const r = sections.reload;
  if (r) add('10,000-policy activation < 1 s, no failed RPC', `max ${f(r.activationMs.max, 0)} ms, ${f(r.errors)} errors`, r.activationMs.max !== null && r.activationMs.max < 1000 && r.errors === 0);
  return out;
}

function targets(sections, out) {
  const rows = checkTargets(sections);
  if (rows.length === 0) return;
  out.push('', "Targets (docs/performance.md)");
  for (const r of rows) out.push(`${r.met ? 'met    ' : 'NOT met'}  ${r.target}: ${r.figure}`);
}

const PRINTERS = {
  inprocess,
  pipeline,
  client,
  review,
  injector,
  throughput,
  latency,
  misses,
  transport,
  reload,
  overload,
  v8flags: (s, out) => v8flags(s, out, 'V8 flags, default GC'),
  'v8flags-stgc': (s, out) => v8flags(s, out, 'V8 flags, --single-threaded-gc'),
};

/** Writes the human-readable tables to `stream`. */
export function printTable(results, stream) {
  const m = results.machine;
  const out = [
    `guardrail-pdp benchmark, ${results.startedAt}${results.quick ? ' (--quick)' : ''}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, node ${m.node}, kernel ${m.kernel}, load average ${m.loadAverage.join(' ')}`,
    `pinning: ${m.pinning}; server flags: "${results.serverFlags}"`,
  ];
  for (const [name, section] of Object.entries(results.sections)) {
    out.push('');
    PRINTERS[name](section, out);
  }
  targets(results.sections, out);
  for (const [name, why] of Object.entries(results.skipped)) out.push('', `${name}: skipped, ${why}`);
  stream.write(`${out.join('\n')}\n`);
}

/**
 * Writes `<dir>/<timestamp>.json`, and `<dir>/latest.json` unless every section was skipped (so a
 * machine without the tools does not overwrite real figures). Returns the paths written.
 */
export function writeResults(results, dir) {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const paths = [join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`)];
  if (Object.keys(results.sections).length > 0) paths.push(join(dir, 'latest.json'));
  for (const p of paths) writeFileSync(p, json);
  return paths;
}
