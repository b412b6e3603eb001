// Section "latency": open loop at fixed rates against the real server and the bare grpc-js
// server (the ceiling), each warmed up first; latency from each call's scheduled send time.
// The real server's RSS is sampled throughout (the "RSS at 5,000 req/s" figure).
import { openLoop } from './h2load.mjs';
import { codesSince, withServer } from './server.mjs';
import { round } from './stats.mjs';

/** Offered rates, calls per second. */
export const RATES = [1000, 2000, 5000, 10_000];

/** Measures one server at every rate. `rates` and `seconds` can be narrowed (the V8 flag sweep does). */
export async function measureRates({ kind, serverFlags, workload, logDir, rates = RATES, seconds, warmupSeconds = 2 }) {
  return withServer({ kind, flags: serverFlags, workload }, async (server) => {
    const load = { address: server.address, workload, logDir };
    await openLoop({ ...load, rate: 2000, seconds: warmupSeconds }); // warm-up: JIT, connection, heap
    const rows = [];
    for (const rate of rates) {
      const before = await server.resolveCodes();
      const stopRss = server.sampleRss();
      const run = await openLoop({ ...load, rate, seconds });
      const rss = stopRss();
      rows.push({ ...run, codes: codesSince(before, await server.resolveCodes()), rssMaxMb: round(rss.maxMb, 1) });
      await new Promise((r) => setTimeout(r, 300)); // let the queue drain between rates
    }
    return rows;
  });
}

/** Runs both servers at every rate; ratios are ours over the ceiling's, per rate. */
export async function runLatency({ quick, serverFlags, workload, logDir }) {
  const seconds = quick ? 2 : 5;
  const pdp = await measureRates({ kind: 'pdp', serverFlags, workload, logDir, seconds });
  const bare = await measureRates({ kind: 'bare', serverFlags, workload, logDir, seconds });
  const ratios = pdp.map((row, i) => ({
    rate: row.rate,
    p50: round(row.latencyMs.p50 / bare[i].latencyMs.p50, 2),
    p99: round(row.latencyMs.p99 / bare[i].latencyMs.p99, 2),
  }));
  return { seconds, pdp, bare, ratios };
}
