// What per-condition memos cost under caller-chosen model names: compiles a bundle of CONDITIONS
// policies, each with its own model condition, then asks every policy about MODELS distinct model
// names of LENGTH characters (appliesTo and guardrailsFor: the condition's memo and the chain's),
// and prints the heap growth after full GCs. In-process, on dist/ (run `npm run build` first):
//
//   node --expose-gc bench/memo-heap.mjs [CONDITIONS=2000] [MODELS=4000] [LENGTH=64]
import { compile } from '../dist/compile/compile.js';
import { finish } from '../dist/steps.js';
import { parseBundleText } from '../dist/sources/document/bundle-text.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const [conditions = 2000, models = 4000, length = 64] = process.argv.slice(2).map(Number);

const policies = {};
for (let i = 0; i < conditions; i++) policies[`p${i}`] = { guardrails: { add: ['g'] }, condition: { model: `m${i}-.*` } };
const text = JSON.stringify({ guardrails: [{ guardrail_name: 'g', litellm_params: { guardrail: 'presidio' } }], policies });
const result = finish(compile(parseBundleText(text, 'memo-heap.json'), { mode: 'strict' }));
if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'));
const compiled = [...result.snapshot.policies.values()];

const heapMiB = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const before = heapMiB();
const started = performance.now();
for (let m = 0; m < models; m++) {
  const model = `model-${m}-`.padEnd(length, 'x');
  for (const policy of compiled) {
    policy.appliesTo(model);
    policy.guardrailsFor(model);
  }
}
const seconds = (performance.now() - started) / 1000;
const after = heapMiB();
console.log(
  `${conditions} conditions x ${models} distinct models of ${length} characters: heap ${before.toFixed(1)} -> ${after.toFixed(1)} MiB ` +
    `(+${(after - before).toFixed(1)} MiB) in ${seconds.toFixed(1)} s; ${compiled.length} policies kept`,
);
