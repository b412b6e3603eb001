// What bounding the regexes costs on the hot path, in-process, on a build (default: this checkout's
// dist/; give another checkout's root to compare): a condition's memo miss and hit (Resolve asks
// each condition once per distinct model, memoized), and a content-filter check over a 2 KB prompt
// (one ExecutePipeline step) with prebuilt patterns only and with custom ones. Median of 7 rounds.
//
//   npm run build && node bench/regex-cost.mjs [ROOT=.]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = pathToFileURL(`${resolve(process.argv[2] ?? '.')}/`).href;
const { compileCondition } = await import(`${root}dist/compile/condition.js`);
const { GUARDRAIL_KINDS } = await import(`${root}dist/guardrails/index.js`);

const ROUNDS = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median µs per call of fn(i) over `calls` calls per round. */
function perCall(calls, fn) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    for (let i = 0; i < calls; i++) fn(r * calls + i);
    rounds.push(((performance.now() - started) * 1000) / calls);
  }
  return median(rounds);
}

const rows = [];
const row = (what, us) => rows.push([what, us < 10 ? us.toFixed(2) : us.toFixed(0)]);

// Conditions. A miss is a new model: each call below gets one (fresh string, fresh memo entry).
const conditions = [
  ['gpt-4.*', 'linear', 'gpt-4o-2024-08-06'],
  ['.*(mini|nano).*', 'degree 1', 'gpt-4o-mini-2024-07-18'],
  [String.raw`bedrock/anthropic\.claude-v\d+(:\d+)?`, 'linear', 'bedrock/anthropic.claude-v2:1'],
];
for (const [pattern, kind, model] of conditions) {
  const c = compileCondition({ model: pattern });
  row(`condition miss, ${kind} ${pattern} on a ${model.length}-character model`, perCall(4_000, (i) => c.test(`${model}-${i}`)));
  row(`condition hit, same`, perCall(200_000, () => c.test(model)));
}
{
  const c = compileCondition({ model: '.*(mini|nano).*' });
  const long = 'x'.repeat(300);
  row('condition miss, degree 1 .*(mini|nano).* on a 300-character model (watchdog)', perCall(400, (i) => c.test(`${long}${i}`)));
  const unsafe = compileCondition({ model: '.*gpt.*4.*' }); // compat only: unsafe
  row('condition miss, compat-only unsafe .*gpt.*4.* on a 25-character model (watchdog)', perCall(400, (i) => unsafe.test(`openai/gpt-4o-mini-${i}`)));
}

// Content filter over a 2 KB prompt.
const prompt = ('My email is jane.doe@example.com and my card 4111 1111 1111 1111; ticket ABC-1234 for project apollo. ' +
  'Please summarise the attached notes about the quarterly roadmap, budget and hiring plan. ').repeat(11).slice(0, 2048);
const input = { inputType: 'request', texts: [prompt], messages: [{ role: 'user', content: prompt }], context: {}, requestId: '', signal: new AbortController().signal };
const filter = (patterns) =>
  GUARDRAIL_KINDS.get('litellm_content_filter').compile(
    { index: 0, name: 'cf', kind: 'litellm_content_filter', mode: 'pre_call', params: { guardrail: 'litellm_content_filter', patterns, blocked_words: [{ keyword: 'apollo', action: 'MASK' }] } },
    { env: {}, mode: 'strict', report: (s, r, m) => console.error(s, r, m) },
  ).check;
const prebuilt = ['email', 'us_ssn', 'credit_card', 'us_phone', 'aws_access_key', 'ipv4'].map((pattern_name) => ({ pattern_type: 'prebuilt', pattern_name, action: 'MASK' }));
const custom = [String.raw`\b[A-Z]{3}-\d{4}\b`, String.raw`sk-[A-Za-z0-9]{20,}`, String.raw`(?i)\b(password|passwd|pwd)\s*[:=]\s*\S+`].map((pattern) => ({ pattern_type: 'regex', pattern, action: 'MASK' }));
for (const [what, patterns] of [
  ['6 prebuilt', prebuilt],
  ['6 prebuilt + 1 custom', [...prebuilt, custom[0]]],
  ['6 prebuilt + 3 custom', [...prebuilt, ...custom]],
]) {
  const check = filter(patterns);
  row(`content filter step, 2 KB prompt, ${what} patterns, 1 keyword`, perCall(500, () => check(input)));
}

const width = Math.max(...rows.map(([w]) => w.length));
for (const [what, us] of rows) console.log(`${what.padEnd(width)}  ${us.padStart(7)} µs`);
