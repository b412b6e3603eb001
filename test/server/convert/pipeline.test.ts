import { describe, expect, it } from 'vitest';
import type { ExecutePipelineRequest } from '../../../src/gen/guardrail/pdp/v1/pipeline.js';
import { MAX_PIPELINE_MESSAGES, MAX_PIPELINE_TEXT_CHARS, toPipelineRequest } from '../../../src/server/convert/pipeline.js';

const request = (partial: Partial<ExecutePipelineRequest>): ExecutePipelineRequest => ({
  policyName: 'p',
  mode: 0,
  messages: [],
  context: undefined,
  requestId: '',
  ...partial,
});
const user = (content: string) => ({ role: 'user', content });

describe('toPipelineRequest: the text to check', () => {
  it('accepts up to MAX_PIPELINE_TEXT_CHARS characters over messages and response_text together', () => {
    const half = 'x'.repeat(MAX_PIPELINE_TEXT_CHARS / 2);
    expect(toPipelineRequest(request({ messages: [user(half)], responseText: half })).messages).toHaveLength(1);
  });

  it('refuses more, naming the field where the total passes the limit, never echoing text', () => {
    const most = 'x'.repeat(MAX_PIPELINE_TEXT_CHARS - 1);
    expect(() => toPipelineRequest(request({ messages: [user('secret'), user(most)] }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: `messages[1].content brings the text to check to ${MAX_PIPELINE_TEXT_CHARS + 5} characters; at most ${MAX_PIPELINE_TEXT_CHARS} are accepted (messages[].content and response_text together)`,
      }),
    );
    expect(() => toPipelineRequest(request({ messages: [user(most)], responseText: 'ab' }))).toThrow(/^response_text brings the text to check to/);
  });

  it('refuses more than MAX_PIPELINE_MESSAGES messages', () => {
    const messages = Array.from({ length: MAX_PIPELINE_MESSAGES + 1 }, () => user(''));
    expect(() => toPipelineRequest(request({ messages }))).toThrow(`messages has ${MAX_PIPELINE_MESSAGES + 1} entries; at most ${MAX_PIPELINE_MESSAGES} are accepted`);
    expect(toPipelineRequest(request({ messages: messages.slice(1) })).messages).toHaveLength(MAX_PIPELINE_MESSAGES);
  });
});
