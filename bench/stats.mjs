// Percentiles and rounding for the results. Nearest-rank percentiles over all samples: no
// interpolation, no histogram buckets, so a reported p99.9 is a latency some call really had.

/** The p-th percentile (0..100) of an ascending array, nearest rank; NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float error (99.9 / 100 * 1000 = 999.0000000000001) from skipping a rank.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** p50, p90, p99, p99.9 and max of the values (any order), in their unit, rounded to `digits`. */
export function summarize(values, digits = 3) {
  const sorted = Float64Array.from(values).sort();
  const r = (v) => round(v, digits);
  return {
    count: sorted.length,
    p50: r(percentile(sorted, 50)),
    p90: r(percentile(sorted, 90)),
    p99: r(percentile(sorted, 99)),
    p999: r(percentile(sorted, 99.9)),
    max: r(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
  };
}

/** Rounds to `digits` decimals; NaN and undefined become null (valid JSON). */
export function round(v, digits = 3) {
  if (v === undefined || v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
