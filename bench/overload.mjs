// Section "overload": callers that set a deadline (grpc-timeout, 100 ms) send a burst at 3 times
// the server's closed-loop capacity. A healthy sidecar sheds the excess (DEADLINE_EXCEEDED or
// RESOURCE_EXHAUSTED, counted by the server's grpc_server_handled_total; calls that grpc-js ends
// itself before the handler runs are not counted there, hence `serverCounted`), keeps its memory
// bounded, and answers normally again right after: the recovery run must have no errors and a
// p99 near the baseline's.
import { closedLoop, openLoop } from './h2load.mjs';
import { codesSince, withServer } from './server.mjs';
import { round } from './stats.mjs';

const DEADLINE_MS = 100;
const CALM_RATE = 1000;

/** Runs the overload scenario; `capacity` (req/s) comes from the throughput section when it ran. */
export async function runOverload({ quick, serverFlags, workload, logDir, capacity }) {
  const burstSeconds = quick ? 2 : 5;
  const headers = ['-H', `grpc-timeout: ${DEADLINE_MS}m`];
  return withServer({ kind: 'pdp', flags: serverFlags, workload }, async (server) => {
    const load = { address: server.address, workload, logDir, headers };
    const measured = capacity ?? (await closedLoop({ ...load, streams: 100, seconds: 2 })).reqPerSec;
    const baseline = await openLoop({ ...load, rate: CALM_RATE, seconds: 2 });
    const rssBeforeMb = server.rssMb();
    const before = await server.resolveCodes();
    const stopRss = server.sampleRss(100);
    const burstRate = Math.round(3 * measured);
    const burst = await openLoop({ ...load, rate: burstRate, seconds: burstSeconds });
    const rss = stopRss();
    // Calls the client gave up on may still be queued in the server; give it a second to drain.
    await new Promise((r) => setTimeout(r, 1000));
    const burstCodes = codesSince(before, await server.resolveCodes());
    const recovery = await openLoop({ ...load, rate: CALM_RATE, seconds: quick ? 2 : 3 });
    return {
      capacity: measured,
      capacityFrom: capacity === undefined ? 'measured here (closed loop, 2 s)' : 'throughput section',
      deadlineMs: DEADLINE_MS,
      burst: { rate: burstRate, seconds: burstSeconds, sent: burst.sent, ok: burst.ok, notOk: burst.errors, codes: burstCodes, serverCounted: burstCodes ? Object.values(burstCodes).reduce((a, b) => a + b, 0) : null, achievedRps: burst.achievedRps, maxSendLagMs: burst.maxSendLagMs, latencyMs: burst.latencyMs },
      rssMb: { before: round(rssBeforeMb, 1), maxDuringBurst: round(rss.maxMb, 1), after: round(server.rssMb(), 1) },
      baseline: { rate: CALM_RATE, errors: baseline.errors, latencyMs: baseline.latencyMs },
      recovery: { rate: CALM_RATE, errors: recovery.errors, latencyMs: recovery.latencyMs },
    };
  });
}
