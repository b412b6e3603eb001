import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Action, Outcome } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { callExecutePipeline, startApp, type Started } from '../helpers/app.js';

// The sidecar's own guardrails, end to end: a length limit, a masking content filter that forwards
// its masked text, then a blocking keyword filter that sees the masked text.
const BUNDLE = `
guardrails:
  - guardrail_name: size
    litellm_params: { guardrail: pdp_length_limit, max_chars: 2000 }
  - guardrail_name: pii-mask
    litellm_params:
      guardrail: litellm_content_filter
      patterns:
        - { pattern_type: prebuilt, pattern_name: email, action: MASK }
        - { pattern_type: prebuilt, pattern_name: credit_card, action: MASK }
  - guardrail_name: words
    litellm_params:
      guardrail: litellm_content_filter
      blocked_words:
        - { keyword: "project falcon", action: BLOCK, description: internal codename }
policies:
  builtin:
    guardrails: { add: [size, pii-mask, words] }
    pipeline:
      mode: pre_call
      steps:
        - { guardrail: size, on_pass: next }
        - { guardrail: pii-mask, on_pass: next, pass_data: true }
        - { guardrail: words, on_fail: block }
`;

const user = (content: string) => ({ role: 'user', content });

describe('ExecutePipeline with built-in guardrails', () => {
  let s: Started;
  beforeAll(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pdp-builtin-')), 'bundle.yaml');
    writeFileSync(path, BUNDLE);
    s = await startApp(path);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('masks an email and a Luhn-valid card, forwards the masked messages and allows', async () => {
    const res = await callExecutePipeline(s.client, {
      policyName: 'builtin',
      messages: [user('mail jane@example.com, card 4111 1111 1111 1111, ref 4111 1111 1111 1112')],
    });
    expect(res.terminalAction).toBe(Action.ALLOW);
    expect(res.steps.map((st) => [st.guardrail, st.outcome, st.action])).toEqual([
      ['size', Outcome.PASS, Action.NEXT],
      ['pii-mask', Outcome.PASS, Action.NEXT],
      ['words', Outcome.PASS, Action.ALLOW],
    ]);
    // The Luhn-invalid number is not a card and stays.
    expect(res.messages).toEqual([user('mail [EMAIL_REDACTED], card [CREDIT_CARD_REDACTED], ref 4111 1111 1111 1112')]);
  });

  it('blocks on a keyword, case-insensitively, naming it but not quoting the prompt', async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'builtin', messages: [user('Tell me about PROJECT FALCON now')] });
    expect(res.terminalAction).toBe(Action.BLOCK);
    expect(res.steps.at(-1)?.outcome).toBe(Outcome.FAIL);
    expect(res.errorMessage).toContain("'project falcon'");
    expect(res.errorMessage).not.toContain('PROJECT FALCON');
  });

  it('fails the length limit with sizes only, and the default on_fail blocks', async () => {
    const res = await callExecutePipeline(s.client, { policyName: 'builtin', messages: [user('x'.repeat(2001))] });
    expect(res.terminalAction).toBe(Action.BLOCK);
    expect(res.steps).toHaveLength(1);
    expect(res.errorMessage).toMatch(/2001/);
    expect(res.errorMessage).not.toContain('xxxx');
  });
});
