// Issue 11, defect 8 (the server's half): a large prompt must not block the event loop for
// seconds. Before the fix, every prebuilt pattern over a 3.9 MB prompt ran synchronously for
// seconds, and a pipeline ran all its steps in one go, so a concurrent Resolve waited for the
// whole pipeline and missed its 2 s deadline. Now the text one call checks is capped
// (MAX_PIPELINE_TEXT_CHARS in src/server/convert/pipeline.ts) and the executor yields to the
// event loop between slow steps.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Action } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { PREBUILT_PATTERNS } from '../../src/guardrails/content-filter/prebuilt-patterns.js';
import { callExecutePipeline, startApp, type Started } from '../helpers/app.js';

const STEPS = 6;
/** The documented limit on the text one call checks (docs/api.md; MAX_PIPELINE_TEXT_CHARS in src/server/convert/pipeline.ts). */
const LIMIT = 1024 * 1024;
const patterns = [...PREBUILT_PATTERNS.keys()].map((name) => `{ pattern_type: prebuilt, pattern_name: ${name}, action: MASK }`).join(', ');
const BUNDLE = `
guardrails:
  - guardrail_name: every-pattern
    litellm_params: { guardrail: litellm_content_filter, patterns: [${patterns}] }
policies:
  scan:
    guardrails: { add: [every-pattern] }
    pipeline:
      steps: [${Array.from({ length: STEPS }, () => '{ guardrail: every-pattern, on_pass: next }').join(', ')}]
`;

/** Text of exactly `chars` characters that no pattern matches, so every step scans it all and passes. */
const prose = (chars: number): string => 'The quick brown fox jumps over the lazy dog by the river. '.repeat(Math.ceil(chars / 58)).slice(0, chars);

/**
 * Sends an empty Resolve every 5 ms from a worker thread (its own event loop, so its sends never
 * wait for ours) over raw HTTP/2, and reports when each answer came (epoch ms).
 */
function startResolvePinger(address: string): { stop: () => Promise<number[]> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { connect } = require('node:http2');
    const session = connect('http://' + workerData.address);
    const answered = [];
    const timer = setInterval(() => {
      const req = session.request({ ':method': 'POST', ':path': '/guardrail.pdp.v1.DecisionService/Resolve', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('trailers', () => answered.push(performance.timeOrigin + performance.now()));
      req.on('error', () => undefined);
      req.resume();
      req.end(Buffer.alloc(5)); // one empty message: the empty ResolveRequest
    }, 5);
    parentPort.on('message', () => {
      clearInterval(timer);
      setTimeout(() => { session.close(); parentPort.postMessage(answered); }, 300);
    });
    `,
    { eval: true, workerData: { address } },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (answered: number[]) => void worker.terminate().then(() => resolve(answered)));
        worker.postMessage('stop');
      }),
  };
}

let s: Started;
beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-large-')), 'bundle.yaml');
  writeFileSync(path, BUNDLE);
  s = await startApp(path);
});
afterAll(async () => {
  await s?.stop();
});

describe('large prompts (robustness)', () => {
  it('refuses more text than the limit with INVALID_ARGUMENT naming the field, before any step runs', async () => {
    const big = prose(3_900_000);
    const started = performance.now();
    const err = (await callExecutePipeline(s.client, { policyName: 'scan', messages: [{ role: 'user', content: big }] }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `messages[0].content brings the text to check to 3900000 characters; at most ${LIMIT} are accepted (messages[].content and response_text together)`,
    );
    expect(performance.now() - started).toBeLessThan(1500); // before: six steps over 3.9 MB, seconds
    const split = [{ role: 'user', content: prose(LIMIT - 10) }];
    const over = (await callExecutePipeline(s.client, { policyName: 'scan', messages: split, responseText: prose(11) }).catch((e: unknown) => e)) as ServiceError;
    expect(over.details).toMatch(/^response_text brings the text to check to 1048577 characters/);
  });

  it('lets Resolve run between the steps of a pipeline at the limit, instead of after the whole pipeline', async () => {
    const pinger = startResolvePinger(s.grpcAddress);
    await new Promise((r) => setTimeout(r, 100));
    const res = await callExecutePipeline(s.client, { policyName: 'scan', messages: [{ role: 'user', content: prose(LIMIT) }] });
    const answeredAt = performance.timeOrigin + performance.now();
    const answers = await pinger.stop();
    expect(res.terminalAction).toBe(Action.ALLOW);
    expect(res.steps).toHaveLength(STEPS);
    const stepsMs = res.steps.reduce((sum, st) => sum + st.durationMs, 0);
    // The longest time no Resolve was answered while the pipeline ran: about one step (plus reading
    // the request) now, all six steps before.
    const during = answers.filter((t) => t <= answeredAt);
    let longestGap = 0;
    for (let i = 1; i < during.length; i++) longestGap = Math.max(longestGap, during[i]! - during[i - 1]!);
    console.info(`large-prompt: ${STEPS} steps took ${Math.round(stepsMs)} ms; ${during.length} Resolve answers meanwhile, longest gap ${Math.round(longestGap)} ms`);
    expect(longestGap).toBeLessThan(0.6 * stepsMs);
  });
});
