// In-process ExecutePipeline: a three-step built-in pipeline (length limit, a masking content
// filter with six prebuilt patterns and pass_data, 200 blocked words) over a 2 KB prompt holding
// an email and a card number. Prints one JSON line. Started by pipeline.mjs, pinned like the
// in-process Resolve section:
//   node --max-semi-space-size=4 bench/pipeline-child.mjs CALLS
// Two paths: `engine` is executePipeline() alone; `handler` adds what the gRPC handler does
// besides grpc-js: decode the request bytes, check and convert them, find the pipeline, execute,
// convert and encode the answer. Each call is awaited and timed alone, with a 1 s deadline (so the
// deadline bookkeeping is included); median and p99 after a warm-up of the same length.
import { compile } from '../dist/compile/compile.js';
import { executePipeline } from '../dist/engine/pipeline.js';
import { pipelineFor } from '../dist/engine/pipeline-target.js';
import { ExecutePipelineRequest, ExecutePipelineResponse } from '../dist/gen/guardrail/pdp/v1/pipeline.js';
import { toExecutePipelineResponse, toPipelineRequest } from '../dist/server/convert/pipeline.js';
import { parseBundleText } from '../dist/sources/document/bundle-text.js';
import { percentile, round } from './stats.mjs';
import { finish } from '../dist/steps.js';

const calls = Number(process.argv[2] ?? 50_000);
const words = Array.from({ length: 200 }, (_, i) => `{ keyword: "codename-${i}", action: BLOCK }`).join(', ');
const BUNDLE = `
guardrails:
  - { guardrail_name: size, litellm_params: { guardrail: pdp_length_limit, max_chars: 8000, max_tokens: 2000 } }
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      patterns:
        - { pattern_type: prebuilt, pattern_name: email, action: MASK }
        - { pattern_type: prebuilt, pattern_name: credit_card, action: MASK }
        - { pattern_type: prebuilt, pattern_name: us_ssn, action: MASK }
        - { pattern_type: prebuilt, pattern_name: us_phone, action: MASK }
        - { pattern_type: prebuilt, pattern_name: aws_access_key, action: BLOCK }
        - { pattern_type: prebuilt, pattern_name: private_key, action: BLOCK }
  - { guardrail_name: words, litellm_params: { guardrail: litellm_content_filter, blocked_words: [${words}] } }
policies:
  three-step:
    guardrails: { add: [size, pii, words] }
    pipeline:
      mode: pre_call
      steps:
        - { guardrail: size, on_pass: next }
        - { guardrail: pii, on_pass: next, pass_data: true }
        - { guardrail: words }
`;

const compiled = finish(compile(parseBundleText(BUNDLE, 'pipeline-bench.yaml'), { mode: 'strict' }));
if (!compiled.ok) throw new Error(`pipeline bench bundle does not compile: ${compiled.issues[0]?.message}`);
const snapshot = compiled.snapshot;

// ~2 KB of ordinary prose with one email and one Luhn-valid card number in the middle.
const filler = 'Please summarise the quarterly report for the board and list the open risks. ';
const prompt = `${filler.repeat(13)}Contact jane.doe@example.com or charge 4111 1111 1111 1111. ${filler.repeat(12)}`;
const pb = { policyName: 'three-step', messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: prompt }], requestId: 'bench' };
const encoded = ExecutePipelineRequest.encode(ExecutePipelineRequest.fromPartial(pb)).finish();
const model = toPipelineRequest(ExecutePipelineRequest.decode(encoded));
const pipeline = pipelineFor(snapshot, model);

let sink = 0;
const paths = {
  engine: async () => {
    const r = await executePipeline(snapshot, pipeline, model, { deadline: Date.now() + 1000 });
    sink += r.steps.length;
  },
  handler: async () => {
    const request = toPipelineRequest(ExecutePipelineRequest.decode(encoded));
    const r = await executePipeline(snapshot, pipelineFor(snapshot, request), request, { deadline: Date.now() + 1000 });
    sink += ExecutePipelineResponse.encode(toExecutePipelineResponse(r)).finish().length;
  },
};

const check = await executePipeline(snapshot, pipeline, model, {});
if (check.terminalAction !== 'allow' || !check.messages[1]?.content.includes('[EMAIL_REDACTED]')) throw new Error('the bench pipeline did not mask and allow');

async function timePerCall(fn) {
  for (let i = 0; i < calls; i++) await fn();
  const us = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fn();
    us[i] = (performance.now() - t) * 1000;
  }
  us.sort();
  return { medianUs: round(percentile(us, 50)), p99Us: round(percentile(us, 99)) };
}

const result = { promptChars: prompt.length, steps: pipeline.steps.length, calls };
for (const [name, fn] of Object.entries(paths)) result[name] = await timePerCall(fn);
process.stdout.write(`${JSON.stringify(result)}\n`);
if (sink < 0) process.stdout.write('\n');
