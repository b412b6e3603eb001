// An open- or closed-loop Resolve load generator that, unlike h2load (one request body for every
// call), sends a different body per call: with `--traffic new` every call carries a context the
// server has never seen (a memo miss). Node's own HTTP/2 client (no grpc-js: ~25-40 µs of client
// CPU per call here, against h2load's ~8), one connection, over TCP or a Unix socket. Started by
// bench/grpc-load.mjs pinned to the client core; prints one JSON line.
//   node bench/grpc-load-child.mjs --target 127.0.0.1:PORT | unix:/path --attachments N --traffic new|repeat
//        [--rate R --seconds S | --closed IN_FLIGHT --seconds S] [--nonce TEXT]
// Open loop: call k is scheduled at k / rate (an even schedule; a 1 ms timer sends whatever has
// come due, so a slow answer never delays the next send) and its latency runs from that time to
// the end of its answer. The gRPC status comes from the trailers (or a trailers-only answer).
import { connect as http2Connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { parseArgs } from 'node:util';
import { ResolveRequest } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { summarize } from './stats.mjs';
import { syntheticRequest } from './synthetic.mjs';
import { grpcFrame } from './workload.mjs';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    attachments: { type: 'string' },
    traffic: { type: 'string', default: 'new' },
    rate: { type: 'string' },
    closed: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    nonce: { type: 'string', default: String(process.pid) },
  },
});
const attachments = Number(values.attachments);
const seconds = Number(values.seconds);
const rate = values.rate === undefined ? undefined : Number(values.rate);
const inFlight = values.closed === undefined ? undefined : Number(values.closed);
if (values.target === undefined || !(attachments > 0) || (rate === undefined) === (inFlight === undefined) || !['new', 'repeat'].includes(values.traffic)) {
  process.stderr.write('usage: grpc-load-child.mjs --target ADDRESS|unix:PATH --attachments N --traffic new|repeat (--rate R | --closed N) [--seconds S] [--nonce X]\n');
  process.exit(2);
}

/**
 * Request k: the benchmark's synthetic request k (teams, key prefixes, models and tags spread as
 * in the h2load workload), its key alias made unique by `nonce` and k, so it matches the same
 * attachments (key patterns are prefixes) but no two calls, nor two runs, send the same bytes.
 */
function frameFor(k) {
  if (values.traffic === 'repeat') return repeated;
  const r = syntheticRequest(attachments, k);
  r.context.keyAlias = `${r.context.keyAlias}-${values.nonce}-${k}`;
  return grpcFrame(ResolveRequest.encode(r).finish());
}
const repeated = grpcFrame(ResolveRequest.encode(syntheticRequest(attachments, 0)).finish());
const count = rate !== undefined ? Math.max(1, Math.round(rate * seconds)) : undefined;
// Open loop: every body is built before the clock starts. Closed loop: built as sent (cheap next to a call).
const frames = count !== undefined ? Array.from({ length: count }, (_, k) => frameFor(k)) : undefined;

const isUnix = values.target.startsWith('unix:');
const connectOptions = { maxSessionMemory: 64, ...(isUnix ? { createConnection: () => netConnect(values.target.replace(/^unix:(\/\/)?/, '')) } : {}) };
const session = http2Connect(isUnix ? 'http://localhost' : `http://${values.target}`, connectOptions);
// A connection that fails mid-run ends the run: what was not answered counts as errors.
let sessionError;
let endRun = () => {};
session.on('error', (e) => {
  sessionError ??= e.message;
  endRun();
});
await new Promise((resolve) => session.once('remoteSettings', resolve));
// The server's cap on concurrent streams (ours: 512): calls beyond it wait here, in order, and
// the wait shows in their latency (as h2load queues on its side).
const maxStreams = session.remoteSettings.maxConcurrentStreams ?? 100;
let open = 0;
const waiting = [];

const HEADERS = { [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: '/guardrail.pdp.v1.DecisionService/Resolve', 'content-type': 'application/grpc', te: 'trailers' };
const latMs = [];
let ok = 0;
let errors = 0;
const codes = {};

/** Sends one call, or queues it while the server's stream cap is reached; `onEnd(endNs)` runs when it is answered (or fails). */
function call(frame, onEnd) {
  if (open >= maxStreams) {
    waiting.push([frame, onEnd]);
    return;
  }
  if (sessionError !== undefined) return;
  open++;
  const stream = session.request(HEADERS, { endStream: false });
  let code;
  stream.on('response', (h) => { if (h['grpc-status'] !== undefined) code = h['grpc-status']; });
  stream.on('trailers', (t) => { code = t['grpc-status']; });
  stream.on('data', () => {});
  stream.on('close', () => {
    const end = process.hrtime.bigint();
    if (code === '0') ok++;
    else errors++;
    codes[code ?? 'none'] = (codes[code ?? 'none'] ?? 0) + 1;
    open--;
    onEnd(end);
    if (waiting.length > 0 && open < maxStreams) call(...waiting.shift());
  });
  stream.on('error', () => {});
  stream.end(frame);
}

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
if (frames !== undefined) {
  // Open loop.
  const periodNs = 1e9 / rate;
  let sent = 0;
  let done = 0;
  let maxLagNs = 0;
  await new Promise((resolve) => {
    endRun = resolve;
    const tick = () => {
      const now = Number(process.hrtime.bigint() - t0);
      while (sent < frames.length && sent * periodNs <= now) {
        const scheduled = sent * periodNs;
        maxLagNs = Math.max(maxLagNs, now - scheduled);
        call(frames[sent], (end) => {
          latMs.push((Number(end - t0) - scheduled) / 1e6);
          if (++done === frames.length) resolve();
        });
        frames[sent++] = undefined; // let the body go once sent
      }
      if (sent < frames.length && sessionError === undefined) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  errors = frames.length - ok; // unanswered calls included, if the connection failed
  finish({ mode: 'open', rate, sent, achievedRps: Math.round(done / elapsedS), maxSendLagMs: Math.round(maxLagNs / 1e3) / 1e3 });
} else {
  // Closed loop: `inFlight` calls outstanding until `seconds` have passed.
  const endNs = BigInt(Math.round(seconds * 1e9));
  let k = 0;
  let outstanding = 0;
  await new Promise((resolve) => {
    endRun = resolve;
    const next = () => {
      if (process.hrtime.bigint() - t0 >= endNs || sessionError !== undefined) {
        if (outstanding === 0) resolve();
        return;
      }
      const start = process.hrtime.bigint();
      outstanding++;
      call(frameFor(k++), (end) => {
        outstanding--;
        latMs.push(Number(end - start) / 1e6);
        next();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  finish({ mode: 'closed', inFlight, sent: k, reqPerSec: Math.round(ok / elapsedS) });
}

function finish(extra) {
  const cpu = process.cpuUsage(cpu0);
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({
    traffic: values.traffic, transport: isUnix ? 'unix' : 'tcp', seconds, ...extra, ok, errors, codes, ...(sessionError === undefined ? {} : { sessionError }),
    latencyMs: summarize(latMs), clientCpuShare: Math.round(((cpu.user + cpu.system) / elapsedUs) * 1000) / 1000,
  })}\n`);
  session.destroy();
  process.exit(0);
}
