// The client section's measurements, in a fresh process (bench/client.mjs starts it, pinned to the
// client core, against a real server): prints one JSON line.
//
//   node --expose-gc bench/client-child.mjs ADDRESS BUNDLE_PATH [quick|full]
//
// - hit: `await client.resolve(request)` answered from the cache, 1,000 distinct requests in turn,
//   ns per call (median of 7 rounds), and the canonical key's share of it;
// - miss: one Resolve round trip (cache off, one call at a time), µs: every request new (the server
//   computes the answer) and one request repeated (the server answers from its own memo);
// - zipf: the hit rate over a skewed workload with the default cache (10,000 entries) and a small
//   one (1,000), with one reload of the served bundle halfway (its ACTIVATED event empties the
//   cache). Teams are Zipf-distributed, keys within a team too, and each key mostly calls its own
//   models: a Zipf rank over the models list, rotated by the key, so that different keys prefer
//   different models.
import { readFileSync } from 'node:fs';
import { createClient, requestKey } from '../dist/client/index.js';
import { round, summarize } from './stats.mjs';
import { reloadVariant, writeBundleFile } from './synthetic.mjs';

const [address, bundlePath, mode = 'full'] = process.argv.slice(2);
const quick = mode === 'quick';
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'claude-3-haiku', 'gemini-1.5-pro', 'llama-3-70b', 'mistral-large', 'o1', 'o1-mini', 'gpt-4', 'gpt-3.5-turbo', 'text-embedding-3'];

/** A seeded PRNG (mulberry32): the same workload every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ranks 0..n-1 drawn with probability proportional to 1 / (rank + 1)^s. */
function zipf(n, s, rand) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const yieldToIo = () => new Promise((r) => setImmediate(r));

async function measureHits() {
  const client = createClient({ address, deadlineMs: 5000 });
  await client.ready({ timeoutMs: 10_000 });
  const requests = Array.from({ length: 1000 }, (_, i) => ({
    context: { teamAlias: `team-${i}`, keyAlias: `key-${i % 37}`, model: MODELS[i % MODELS.length], tags: [`env-${i % 3}`] },
  }));
  for (const r of requests) await client.resolve(r);
  const calls = quick ? 100_000 : 500_000;
  const rounds = [];
  const missesBefore = client.stats().misses;
  for (let round_ = 0; round_ < 7; round_++) {
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await client.resolve(requests[i % 1000]);
    rounds.push(Number(process.hrtime.bigint() - t0) / calls);
    await yieldToIo();
  }
  const keyT0 = process.hrtime.bigint();
  let length = 0;
  for (let i = 0; i < calls; i++) length += requestKey(requests[i % 1000]).length;
  const keyNs = Number(process.hrtime.bigint() - keyT0) / calls;
  const misses = client.stats().misses - missesBefore;
  client.close();
  rounds.sort((a, b) => a - b);
  return { calls, nsPerCall: round(rounds[3], 0), minNs: round(rounds[0], 0), maxNs: round(rounds[6], 0), keyNs: round(keyNs, 0), missesDuringTiming: misses, keyChars: length / calls };
}

async function measureMisses() {
  const client = createClient({ address, deadlineMs: 5000, cache: false });
  await client.ready({ timeoutMs: 10_000 });
  const n = quick ? 1000 : 5000;
  const once = async (request) => {
    const t = performance.now();
    await client.resolve(request);
    return (performance.now() - t) * 1000;
  };
  for (let i = 0; i < 200; i++) await once({ context: { teamAlias: `warm-${i}` } });
  const computed = [];
  for (let i = 0; i < n; i++) computed.push(await once({ context: { teamAlias: `team-${i % 500}`, keyAlias: `miss-${i}`, model: MODELS[i % MODELS.length] } }));
  const memo = [];
  const same = { context: { teamAlias: 'team-1', keyAlias: 'key-1', model: 'gpt-4o' } };
  for (let i = 0; i < n; i++) memo.push(await once(same));
  client.close();
  return { calls: n, computedUs: summarize(computed, 1), memoUs: summarize(memo, 1) };
}

async function measureZipf() {
  const requests = quick ? 50_000 : 200_000;
  const shape = { teams: 500, teamExponent: 1.1, keysPerTeam: 20, keyExponent: 1.2, models: MODELS.length, modelExponent: 1.5 };
  const workload = () => {
    const rand = prng(42);
    const team = zipf(shape.teams, shape.teamExponent, rand);
    const key = zipf(shape.keysPerTeam, shape.keyExponent, rand);
    const model = zipf(shape.models, shape.modelExponent, rand);
    return () => {
      const t = team();
      const k = key();
      const m = (model() + t * 7 + k) % MODELS.length; // the key's own ranking of the models
      return { context: { teamAlias: `team-${t}`, keyAlias: `team-${t}-key-${k}`, model: MODELS[m], tags: [`env-${k % 3}`] } };
    };
  };
  const original = readFileSync(bundlePath, 'utf8');
  const rows = [];
  let reloads = 0;
  for (const maxEntries of [10_000, 1_000]) {
    const client = createClient({ address, deadlineMs: 5000, cache: { maxEntries } });
    await client.ready({ timeoutMs: 10_000 });
    const next = workload();
    const distinct = new Set();
    const halves = [];
    for (const half of [0, 1]) {
      const before = client.stats();
      for (let i = 0; i < requests / 2; i++) {
        const r = next();
        distinct.add(requestKey(r));
        await client.resolve(r);
        if (i % 256 === 0) await yieldToIo();
      }
      const after = client.stats();
      halves.push(round((after.hits - before.hits) / (requests / 2), 4));
      if (half === 0) {
        // Reload halfway: new content, the same answers (reloadVariant); the cache empties on its event.
        const revision = after.revision;
        writeBundleFile(bundlePath, reloadVariant(original, ++reloads));
        while (client.stats().revision === revision) await new Promise((r) => setTimeout(r, 10));
      }
    }
    const s = client.stats();
    // An unbounded cache without reloads would miss each distinct request once: the ceiling.
    rows.push({ maxEntries, requests, hitRate: round(s.hits / requests, 4), ceiling: round(1 - distinct.size / requests, 4), firstHalf: halves[0], secondHalf: halves[1], distinctRequests: distinct.size, rpcs: s.misses, entries: s.entries, bytes: s.bytes, retries: s.retries });
    client.close();
  }
  writeBundleFile(bundlePath, original);
  return { ...shape, rows };
}

const hit = await measureHits();
const miss = await measureMisses();
const zipfResult = await measureZipf();
process.stdout.write(`${JSON.stringify({ hit, miss, zipf: zipfResult })}\n`);
process.exit(0);
