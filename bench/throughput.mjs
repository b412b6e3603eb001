// Section "throughput": the closed-loop maximum (h2load keeps CLIENTS x STREAMS calls in flight)
// of the real server and of the bare grpc-js server (the ceiling), one after the other, with the
// same flags, request and load generator. Closed-loop latencies are not reported as percentiles:
// in a saturated queue they measure the queue, not the server (use the open-loop section).
import { closedLoop } from './h2load.mjs';
import { codesSince, withServer } from './server.mjs';
import { round } from './stats.mjs';

/** One HTTP/2 connection (a gateway's channel) with 100 calls in flight. */
export const CLIENTS = 1;
export const STREAMS = 100;

/** Measures both servers; returns their rates and ours as a fraction of the ceiling. */
export async function runThroughput({ quick, serverFlags, workload }) {
  const seconds = quick ? 3 : 8;
  const result = { clients: CLIENTS, streams: STREAMS, seconds };
  for (const kind of ['pdp', 'bare']) {
    result[kind] = await withServer({ kind, flags: serverFlags, workload }, async (server) => {
      const load = { address: server.address, workload, clients: CLIENTS, streams: STREAMS };
      await closedLoop({ ...load, seconds: 1 }); // warm-up: JIT, connection, heap
      const before = await server.resolveCodes();
      const run = await closedLoop({ ...load, seconds });
      return { ...run, codes: codesSince(before, await server.resolveCodes()), rssMb: round(server.rssMb(), 1) };
    });
  }
  result.ratio = round(result.pdp.reqPerSec / result.bare.reqPerSec, 3);
  return result;
}
