// Section "reload": 2,000 Resolve/s open loop while the 10,000-policy bundle is replaced (write
// + rename, as a ConfigMap or a producer would) every second, 10 times. Each replacement differs
// in one attachment the benchmark request does not match, so every one is a full activation
// (new hash: read, parse, compile, swap) while the answer keeps its size, which keeps h2load's
// count of OK answers exact. Reports errors (must be 0), activation times from the server's log,
// and latency before the swaps, across the swap period, and for calls scheduled while an
// activation was running (from its start to 20 ms after its log line).
import { openLoop } from './h2load.mjs';
import { codesSince, withServer } from './server.mjs';
import { round, summarize } from './stats.mjs';
import { reloadVariant, writeBundleFile } from './synthetic.mjs';

const RATE = 2000;
const SWAPS = 10;
const SWAP_EVERY_MS = 1000;
const BASELINE_MS = 2000;

/** True once an activation has finished after the last rename (later renames coalesce into it). */
function isIdle(server, renamesUs) {
  const last = server.activations.at(-1);
  return last !== undefined && (last.atMs - last.durationMs) * 1000 >= (renamesUs.at(-1) ?? 0);
}

/** Runs the reload-under-load scenario on the real server. */
export async function runReload({ quick, serverFlags, workload, logDir }) {
  const swaps = quick ? 4 : SWAPS;
  const variants = Array.from({ length: swaps }, (_, i) => reloadVariant(workload.bundleJson, i + 1)); // built before the load starts
  return withServer({ kind: 'pdp', flags: serverFlags, workload }, async (server) => {
    const load = { address: server.address, workload, logDir };
    await openLoop({ ...load, rate: RATE, seconds: 2 }); // warm-up
    const before = await server.resolveCodes();
    const activationsBefore = server.activations.length;
    const seconds = (BASELINE_MS + swaps * SWAP_EVERY_MS + 1500) / 1000;
    const renamesUs = [];
    const running = openLoop({ ...load, rate: RATE, seconds, keepSamples: true });
    for (let i = 0; i < swaps; i++) {
      await new Promise((r) => setTimeout(r, i === 0 ? BASELINE_MS : SWAP_EVERY_MS));
      renamesUs.push(Date.now() * 1000);
      writeBundleFile(workload.bundlePath, variants[i]);
    }
    const run = await running;
    // An activation still running (or queued) when the load ends: wait for its log line, 5 s at most.
    for (let waited = 0; waited < 5000 && server.activations.length - activationsBefore < swaps && !isIdle(server, renamesUs); waited += 250)
      await new Promise((r) => setTimeout(r, 250));
    writeBundleFile(workload.bundlePath, workload.bundleJson); // later sections start from the original
    const activations = server.activations.slice(activationsBefore);
    const windows = activations.map((a) => [(a.atMs - a.durationMs) * 1000, (a.atMs + 20) * 1000]);
    const { samples, ...rest } = run;
    const firstUs = renamesUs[0] ?? Number.POSITIVE_INFINITY;
    const lastUs = (renamesUs.at(-1) ?? 0) + SWAP_EVERY_MS * 1000;
    const pick = (f) => summarize(samples.filter(f).map((s) => s.latencyMs));
    const durations = activations.map((a) => a.durationMs).sort((a, b) => a - b);
    const loads = activations.map((a) => a.loadMs).sort((a, b) => a - b);
    return {
      rate: RATE,
      policies: workload.policies,
      swaps,
      activations: activations.length,
      activationMs: { median: durations[Math.floor(durations.length / 2)] ?? null, max: durations.at(-1) ?? null },
      // Of which loading (the loader thread: read, parse; then the rebuild here), the rest compiling.
      loadMs: { median: loads[Math.floor(loads.length / 2)] ?? null, max: loads.at(-1) ?? null },
      sent: rest.sent,
      ok: rest.ok,
      errors: rest.errors,
      codes: codesSince(before, await server.resolveCodes()),
      achievedRps: rest.achievedRps,
      baselineMs: pick((s) => s.scheduledUs >= rest.t0Us + 500_000 && s.scheduledUs < firstUs),
      swapPeriodMs: pick((s) => s.scheduledUs >= firstUs && s.scheduledUs < lastUs),
      inActivationMs: pick((s) => windows.some(([a, b]) => s.scheduledUs >= a && s.scheduledUs < b)),
    };
  });
}
