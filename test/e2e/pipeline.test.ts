import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Action, Mode, Outcome, type ExecutePipelineRequest } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { callExecutePipeline, callResolve, startApp, type Started } from '../helpers/app.js';

// Prompt text that must never come back in an error.
const SECRET = 'my-password-is-hunter2';

/**
 * A Generic Guardrail API vendor on 127.0.0.1:0, one behaviour per api_base path: /mask replaces
 * "hunter2" with [MASKED], /toxic blocks texts containing "idiot", /hang never answers.
 */
function startVendor(): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/hang/')) return; // never answers
      const { texts } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { texts: string[] };
      let answer: unknown = { action: 'NONE' };
      if (req.url?.startsWith('/mask/')) answer = { action: 'GUARDRAIL_INTERVENED', texts: texts.map((t) => t.replaceAll('hunter2', '[MASKED]')) };
      if (req.url?.startsWith('/toxic/') && texts.some((t) => t.includes('idiot'))) answer = { action: 'BLOCKED', blocked_reason: 'insult detected' };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })),
  );
}

const bundle = (base: string): string => `
guardrails:
  - { guardrail_name: masker, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/mask" } }
  - { guardrail_name: toxicity, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/toxic" } }
  - { guardrail_name: stuck, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/hang", timeout: 60 } }
  - { guardrail_name: pii, litellm_params: { guardrail: presidio } }
policies:
  chat-pipeline:
    guardrails: { add: [masker, toxicity] }
    pipeline:
      mode: pre_call
      steps:
        - { guardrail: masker, on_pass: next, pass_data: true }
        - { guardrail: toxicity, on_fail: block }
  presidio-pipeline:
    guardrails: { add: [pii] }
    pipeline:
      steps:
        - { guardrail: pii, on_fail: block }
  stuck-pipeline:
    guardrails: { add: [stuck] }
    pipeline:
      steps:
        - { guardrail: stuck, on_fail: block, on_error: allow }
  response-pipeline:
    guardrails: { add: [masker] }
    pipeline:
      mode: post_call
      steps:
        - { guardrail: masker, pass_data: true }
  no-pipeline:
    guardrails: { add: [toxicity] }
`;

const user = (content: string) => ({ role: 'user', content });

describe('ExecutePipeline over gRPC', () => {
  let s: Started;
  let vendor: Server;
  beforeAll(async () => {
    const started = await startVendor();
    vendor = started.server;
    const path = join(mkdtempSync(join(tmpdir(), 'pdp-pipeline-')), 'bundle.yaml');
    writeFileSync(path, bundle(started.base));
    s = await startApp(path);
  });
  afterAll(async () => {
    await s?.stop();
    vendor?.closeAllConnections();
    await new Promise((resolve) => vendor.close(resolve));
  });

  it("runs a policy's pipeline: masks, forwards the masked text, allows, and names the revision", async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'chat-pipeline', messages: [user(`hi, ${SECRET}`)] });
    expect(res.terminalAction).toBe(Action.ALLOW);
    expect(res.steps.map((st) => [st.guardrail, st.outcome, st.action])).toEqual([
      ['masker', Outcome.PASS, Action.NEXT],
      ['toxicity', Outcome.PASS, Action.ALLOW],
    ]);
    expect(res.messages).toEqual([user('hi, my-password-is-[MASKED]')]);
    expect(res.steps.every((st) => st.durationMs >= 0)).toBe(true);
    expect(res.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(res.revision).toBe((await callResolve(s.client, {})).revision);
  });

  it("blocks with the vendor's reason as error_message", async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'chat-pipeline', mode: Mode.PRE_CALL, messages: [user('you idiot')] });
    expect(res.terminalAction).toBe(Action.BLOCK);
    expect(res.steps[1]).toMatchObject({ guardrail: 'toxicity', outcome: Outcome.FAIL, action: Action.BLOCK, detail: 'insult detected' });
    expect(res.errorMessage).toBe('insult detected');
  });

  it('reports a kind the sidecar does not run as an ERROR step, and on_fail applies', async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'presidio-pipeline', messages: [user('hi')] });
    expect(res.terminalAction).toBe(Action.BLOCK);
    expect(res.steps).toEqual([
      expect.objectContaining({ guardrail: 'pii', outcome: Outcome.ERROR, action: Action.BLOCK, detail: "guardrail 'pii' (kind presidio) is not executable in the sidecar" }),
    ]);
  });

  it('masks the response text of a post_call pipeline', async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'response-pipeline', responseText: `sure: ${SECRET}` });
    expect(res.terminalAction).toBe(Action.ALLOW);
    expect(res.responseText).toBe('sure: my-password-is-[MASKED]');
  });

  it('runs an inline pipeline over the snapshot guardrails', async () => {
    const pipeline = { mode: Mode.PRE_CALL, steps: [{ ...step('toxicity'), onFail: Action.MODIFY_RESPONSE, modifyResponseMessage: 'Let us keep it civil.' }] };
    const res = await callExecutePipeline(s.client, { pipeline, messages: [user('idiot')] });
    expect(res.terminalAction).toBe(Action.MODIFY_RESPONSE);
    expect(res.modifyResponseMessage).toBe('Let us keep it civil.');
  });

  it('answers within a client deadline: a step still running at the deadline ends in ERROR and on_error applies', async () => {
    const started = Date.now();
    const res = await callExecutePipeline(s.client, { policyName: 'stuck-pipeline', messages: [user('hi')] }, 3000);
    expect(res.terminalAction).toBe(Action.ALLOW);
    expect(res.steps[0]).toMatchObject({ guardrail: 'stuck', outcome: Outcome.ERROR, action: Action.ALLOW });
    expect(res.steps[0]?.detail).toMatch(/^call deadline reached while the step was running/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it.each([
    ['an unknown policy', 'nope', "policy 'nope' not found in revision"],
    ['a policy without a pipeline', 'no-pipeline', "policy 'no-pipeline' has no pipeline in revision"],
  ])('answers NOT_FOUND for %s, naming the revision', async (_what, policyName, message) => {
    const err = await failure({ policyName, messages: [user(SECRET)] });
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain(message);
    expect(err.details).toMatch(/revision [0-9a-f]{16}/);
  });

  const messages = [user(SECRET)];
  it.each<[string, Partial<ExecutePipelineRequest>, string]>([
    ['no target', { messages }, 'target'],
    ['both targets', { policyName: 'chat-pipeline', pipeline: { mode: Mode.PRE_CALL, steps: [step('masker')] }, messages }, 'target'],
    ['an empty policy name', { policyName: '', messages }, 'policy_name'],
    ['an inline pipeline with no steps', { pipeline: { mode: Mode.PRE_CALL, steps: [] }, messages }, 'pipeline.steps'],
    ['an empty step guardrail', { pipeline: { mode: Mode.PRE_CALL, steps: [step('masker'), step('')] }, messages }, 'pipeline.steps[1].guardrail'],
    ['an undefined step guardrail', { pipeline: { mode: Mode.PRE_CALL, steps: [step('masker'), step('ghost')] }, messages }, 'pipeline.steps[1].guardrail'],
    ['an unknown action', { pipeline: { mode: Mode.PRE_CALL, steps: [{ ...step('masker'), onPass: 9 as Action }] }, messages }, 'pipeline.steps[0].on_pass'],
    ['a step timeout over the limit', { pipeline: { mode: Mode.PRE_CALL, steps: [{ ...step('masker'), timeoutMs: 3_600_000 }] }, messages }, 'pipeline.steps[0].timeout_ms'],
    ['an unknown pipeline mode', { pipeline: { mode: 7 as Mode, steps: [step('masker')] }, messages }, 'pipeline.mode'],
    ['an unknown mode', { policyName: 'chat-pipeline', mode: 7 as Mode, messages }, 'mode'],
    ["a mode that is not the pipeline's", { policyName: 'chat-pipeline', mode: Mode.POST_CALL, messages, responseText: SECRET }, 'mode is POST_CALL'],
    ['a message without a role', { policyName: 'chat-pipeline', messages: [user('x'), { role: '', content: SECRET }] }, 'messages[1].role'],
    ['a post_call pipeline without response_text', { policyName: 'response-pipeline', messages }, 'response_text'],
    ['an oversized context model', { policyName: 'chat-pipeline', messages, context: { model: `${SECRET}${'x'.repeat(5000)}`, tags: [] } }, 'context.model'],
  ])('answers INVALID_ARGUMENT for %s, naming the field without echoing content', async (_what, request, field) => {
    const err = await failure(request);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(field);
    expect(err.details).not.toContain('hunter2');
  });

  async function failure(request: Partial<ExecutePipelineRequest>): Promise<ServiceError> {
    const result = await callExecutePipeline(s.client, request).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    if (result === undefined) throw new Error('expected the call to fail');
    return result;
  }
});

function step(guardrail: string) {
  return { guardrail, onPass: Action.ACTION_UNSPECIFIED, onFail: Action.ACTION_UNSPECIFIED, onError: Action.ACTION_UNSPECIFIED, passData: false, timeoutMs: 0 };
}
