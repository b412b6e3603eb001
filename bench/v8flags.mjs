// Sections "v8flags" and "v8flags-stgc": the real server at 5,000 req/s open loop under V8 GC
// settings, to choose the flags of `npm start` and the Dockerfile by measurement. GC pauses, not
// our logic, make the tail at this rate: young-generation size (--max-semi-space-size, MB) sets
// how often a scavenge runs and how long it takes; --single-threaded-gc stops V8 from running GC
// helper threads that compete with the main thread for the one core the server has.
import { measureRates } from './latency.mjs';
import { round } from './stats.mjs';

const RATE = 5000;
const SEMI_SPACES = [1, 2, 4, 8, 16, 64];
const GC_FLAG = /^--(max-semi-space-size|min-semi-space-size|single-threaded-gc|semi-space-growth-factor)\b/;

/** The flag sets of one sweep: default GC or --single-threaded-gc, each with every semi-space size. */
export function sweepConfigs(isSingleThreaded, quick) {
  const base = isSingleThreaded ? ['--single-threaded-gc'] : [];
  const sizes = quick ? [4, 16] : SEMI_SPACES;
  return [base, ...sizes.map((mb) => [...base, `--max-semi-space-size=${mb}`])].map((f) => f.join(' '));
}

/**
 * Runs one sweep. Each configuration is a fresh server with the harness's other flags (e.g.
 * --enable-source-maps) plus the configuration's GC flags.
 */
export async function runV8Flags({ quick, serverFlags, workload, logDir }, isSingleThreaded) {
  const otherFlags = serverFlags.split(/\s+/).filter((f) => f !== '' && !GC_FLAG.test(f));
  const seconds = quick ? 2 : 4;
  const rows = [];
  for (const gcFlags of sweepConfigs(isSingleThreaded, quick)) {
    const flags = [...otherFlags, gcFlags].join(' ').trim();
    const [run] = await measureRates({ kind: 'pdp', serverFlags: flags, workload, logDir, rates: [RATE], seconds, warmupSeconds: 1 });
    rows.push({ gcFlags: gcFlags || '(V8 defaults)', flags, errors: run.errors, achievedRps: run.achievedRps, latencyMs: run.latencyMs, rssMaxMb: run.rssMaxMb });
  }
  const best = rows.reduce((a, b) => (b.errors === 0 && (a.errors > 0 || b.latencyMs.p99 < a.latencyMs.p99) ? b : a));
  return { rate: RATE, seconds, rows, bestByP99: { gcFlags: best.gcFlags, p99Ms: round(best.latencyMs.p99) } };
}
