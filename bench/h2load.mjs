// The load generator: nghttp2's h2load (C, ~8 µs of client CPU per call here, where a grpc-js or
// Python grpcio client costs ~120-150 µs), posting one pre-encoded gRPC frame per request over
// one HTTP/2 connection. Open loop uses `--rps` (h2load sends what is due on each timer tick, so
// a slow answer does not delay the next send) and `--log-file`; each latency is measured from
// the call's scheduled send time. gRPC status is not visible to h2load (errors are HTTP 200 with
// a grpc-status trailer), so calls answered OK are counted from the DATA bytes received: every OK
// answer to the benchmark request is one frame of known length, an error carries none.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_CORE, pinned } from './machine.mjs';
import { round, summarize } from './stats.mjs';

const GRPC_HEADERS = ['-H', 'content-type: application/grpc', '-H', 'te: trailers'];

/** Runs h2load (pinned to the client core) and parses its summary. Rejects if it fails or hangs. */
export function runH2load(args, timeoutMs) {
  const argv = pinned(CLIENT_CORE, ['h2load', ...args]);
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`h2load failed: ${err.message}\n${stderr}`));
      else resolve(parseSummary(stdout));
    });
  });
}

/** Parses h2load's summary lines into numbers. */
export function parseSummary(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  const ms = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? Number.NaN);
  const t = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(text);
  return {
    seconds: num(/finished in ([\d.]+)s/),
    reqPerSec: num(/finished in [\d.]+s, ([\d.]+) req\/s/),
    started: num(/(\d+) started/),
    done: num(/(\d+) done/),
    failed: num(/(\d+) failed/),
    errored: num(/(\d+) errored/),
    dataBytes: num(/\((\d+)\) data/),
    meanMs: t ? ms(t[5], t[6]) : Number.NaN,
    maxMs: t ? ms(t[3], t[4]) : Number.NaN,
  };
}

const url = (address) => `http://${address}/guardrail.pdp.v1.DecisionService/Resolve`;

/**
 * Closed loop for `seconds`: `clients` connections with `streams` calls in flight on each.
 * Returns the rate achieved and how many answers were OK (by bytes).
 */
export async function closedLoop({ address, workload, clients = 1, streams = 64, seconds, headers = [] }) {
  const s = await runH2load(
    ['-c', String(clients), '-m', String(streams), '-D', String(seconds), '-d', workload.framePath, ...GRPC_HEADERS, ...headers, url(address)],
    (seconds + 30) * 1000,
  );
  // Answers still in flight at the cut-off may have sent their frame without being counted done.
  const ok = Math.min(s.done, Math.floor(s.dataBytes / workload.answerFrameBytes));
  return { clients, streams, seconds, reqPerSec: round(s.done / seconds, 0), done: s.done, ok, notOk: s.done - ok, meanMs: round(s.meanMs), maxMs: round(s.maxMs) };
}

/**
 * Open loop: `rate` calls per second for `seconds` on one connection (a gateway's channel), at
 * most `streams` in flight (beyond it h2load queues, and the queueing shows in the latency).
 * Latencies (ms) run from each call's scheduled send time to its answer.
 */
export async function openLoop({ address, workload, rate, seconds, streams = 4096, headers = [], logDir, keepSamples = false }) {
  const n = Math.max(1, Math.round(rate * seconds));
  const logFile = join(logDir, `h2load-${process.pid}-${rate}.tsv`);
  rmSync(logFile, { force: true }); // h2load appends to its log file
  const s = await runH2load(
    ['-c', '1', '-m', String(streams), '--rps', String(rate), '-n', String(n), '--log-file', logFile, '-d', workload.framePath, ...GRPC_HEADERS, ...headers, url(address)],
    (seconds * 3 + 30) * 1000,
  );
  const rows = readFileSync(logFile, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => l.split('\t').map(Number));
  rmSync(logFile, { force: true });
  const { samples, ...latency } = scheduledLatencies(rows, rate);
  const ok = Math.floor(s.dataBytes / workload.answerFrameBytes);
  // Calls answered without an OK frame (gRPC errors) or never answered (failed streams, lost).
  const errors = n - ok;
  return { rate, seconds, sent: n, ok, errors, failedStreams: rows.filter((r) => r[1] === -1).length, ...latency, ...(keepSamples ? { samples } : {}) };
}

/**
 * h2load's --rps timer period in µs: it fires every max(10 ms, 1/rate) and sends every call that
 * has come due since the last tick, so above 100/s calls leave in bursts of rate/100 (nghttp2's
 * h2load.cc: `rps_watcher.repeat = std::max(0.01, 1. / config.rps)`).
 */
export function h2loadTickUs(rate) {
  return Math.max(10_000, 1e6 / rate);
}

/**
 * From h2load log rows [startUs, httpStatus, durationUs]: the k-th call sent is the k-th scheduled.
 * h2load sends call 0 on connect (t0) and then, on each tick of its timer, every call due by then
 * (round(elapsed x rate) in all), so call k is due at t0 + (k - 0.5)/rate and scheduled on the
 * first tick after that: t0 + ceil((k - 0.5)/rate / tick) ticks. A call sent earlier than that (a
 * late tick sends what came due meanwhile) is measured from its send. Returns latency percentiles
 * from the schedule, the largest send lag and the rate achieved (answers per second from t0 to the
 * last answer). `t0Us` is epoch microseconds. `tickUs` defaults to h2load's; a tick of 1/rate is
 * an even schedule.
 */
export function scheduledLatencies(rows, rate, tickUs = h2loadTickUs(rate)) {
  rows.sort((a, b) => a[0] - b[0]);
  const t0 = rows.length > 0 ? rows[0][0] : 0;
  // An even 1/rate schedule would instead charge each burst's early calls with up to a whole tick
  // (10 ms) of lag that no server caused.
  const scheduledUs = (k, sentUs) => Math.min(sentUs, t0 + Math.ceil(((k - 0.5) * 1e6) / rate / tickUs - 1e-9) * tickUs);
  let lastEnd = t0;
  let maxLagUs = 0;
  const latMs = rows.map((r, k) => {
    const scheduled = scheduledUs(k, r[0]);
    maxLagUs = Math.max(maxLagUs, r[0] - scheduled);
    lastEnd = Math.max(lastEnd, r[0] + r[2]);
    return (r[0] + r[2] - scheduled) / 1000;
  });
  const samples = rows.map((r, k) => ({ scheduledUs: scheduledUs(k, r[0]), latencyMs: latMs[k] }));
  return {
    done: rows.length,
    achievedRps: round(rows.length / ((lastEnd - t0) / 1e6), 0),
    maxSendLagMs: round(maxLagUs / 1000),
    latencyMs: summarize(latMs),
    t0Us: t0,
    samples,
  };
}
