// Section "misses": every call a context the server has never seen (each one a memo miss), next
// to one repeated context (memo hits), open loop at fractions of the bare server's capacity
// measured in the same run, with the server's CPU per answered call. h2load sends one body for
// every call, so this section's load comes from bench/grpc-load-child.mjs (Node's HTTP/2 client,
// a body per call); the bare server gets the same client, bodies and rates.
import { closedLoop } from './h2load.mjs';
import { grpcLoad } from './grpc-load.mjs';
import { withServer } from './server.mjs';
import { round } from './stats.mjs';

/** Offered rates, as fractions of the bare server's closed-loop capacity (h2load). */
export const FRACTIONS = [0.1, 0.3, 0.6];

/** One open-loop run against a started server, with its CPU per answered call and peak RSS. */
async function measured(server, load) {
  const before = server.cpuUs();
  const stopRss = server.sampleRss();
  let rss;
  // The sampling timer stops even when the run fails (it would keep the harness alive).
  const run = await grpcLoad({ target: server.address, ...load }).finally(() => { rss = stopRss(); });
  const after = server.cpuUs();
  const per = (k) => (run.ok > 0 ? round((after[k] - before[k]) / run.ok, 1) : null);
  return { ...run, fraction: load.fraction, serverCpuUsPerCall: per('schedUs'), serverCpuUsPerCallTicks: per('ticksUs'), rssMaxMb: round(rss.maxMb, 1) };
}

/**
 * The bare server's capacity (from the throughput section of this run, else measured here), then
 * each server at each fraction: ours with new contexts and with a repeated one, the bare server
 * with new contexts (its canned answer ignores them). Closed loop with new contexts as well
 * (100 in flight, this client), as a throughput ratio.
 */
export async function runMisses({ quick, serverFlags, workload, results }) {
  const seconds = quick ? 2 : 5;
  let capacity = results.throughput?.bare?.reqPerSec;
  let capacityFrom = 'throughput section (h2load, closed loop)';
  if (capacity === undefined) {
    capacity = await withServer({ kind: 'bare', flags: serverFlags, workload }, async (server) => {
      const load = { address: server.address, workload, clients: 1, streams: 100 };
      await closedLoop({ ...load, seconds: 1 });
      return (await closedLoop({ ...load, seconds: quick ? 2 : 4 })).reqPerSec;
    });
    capacityFrom = 'measured here (h2load, 1 connection x 100 in flight)';
  }
  const base = { attachments: workload.attachments, seconds };
  let nonce = 0;
  const runKind = (kind, traffics) =>
    withServer({ kind, flags: serverFlags, workload }, async (server) => {
      // Warm-up (JIT, connection, heap) with contexts no measured run sends.
      await grpcLoad({ target: server.address, ...base, traffic: 'new', rate: capacity * 0.3, seconds: 2, nonce: `warm${nonce++}` });
      const rows = [];
      for (const traffic of traffics) {
        for (const fraction of FRACTIONS) {
          rows.push(await measured(server, { ...base, traffic, fraction, rate: capacity * fraction, nonce: `run${nonce++}` }));
          await new Promise((r) => setTimeout(r, 300)); // let the queue drain between rates
        }
      }
      rows.push({ ...(await measured(server, { ...base, traffic: 'new', closed: 100, nonce: `closed${nonce++}` })), fraction: null });
      return rows;
    });
  const pdp = await runKind('pdp', ['repeat', 'new']);
  const bare = await runKind('bare', ['new']);
  const open = (rows, traffic) => rows.filter((r) => r.mode === 'open' && r.traffic === traffic);
  const ratios = [];
  for (const traffic of ['repeat', 'new']) {
    for (const [i, row] of open(pdp, traffic).entries()) {
      const b = open(bare, 'new')[i];
      ratios.push({
        traffic,
        fraction: row.fraction,
        p50: round(row.latencyMs.p50 / b.latencyMs.p50, 2),
        p99: round(row.latencyMs.p99 / b.latencyMs.p99, 2),
        cpuPerCall: round(row.serverCpuUsPerCall / b.serverCpuUsPerCall, 2),
      });
    }
  }
  const closedPdp = pdp.find((r) => r.mode === 'closed');
  const closedBare = bare.find((r) => r.mode === 'closed');
  return {
    seconds, capacity, capacityFrom, fractions: FRACTIONS, pdp, bare, ratios,
    closedRatio: round(closedPdp.reqPerSec / closedBare.reqPerSec, 3),
  };
}
