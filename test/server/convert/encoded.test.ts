import { describe, expect, it } from 'vitest';
import { Action, Mode } from '../../../src/gen/guardrail/pdp/v1/pipeline.js';
import { ResolveResponse } from '../../../src/gen/guardrail/pdp/v1/resolve.js';
import { createResponseEncoder, decodeResolveRequest } from '../../../src/server/convert/encoded.js';

/** An answer whose size grows with `n` (policies, guardrails, one pipeline step each). */
function answer(n: number, timeoutMs = 0): ResolveResponse {
  const names = Array.from({ length: n }, (_, i) => `policy-${i}`);
  return {
    guardrails: names.map((p) => `${p}-guardrail`),
    appliedPolicies: names,
    matchedPolicies: names.map((p) => ({ policyName: p, matchedVia: 'scope:*', applied: true, guardrails: [`${p}-guardrail`], inheritanceChain: [p] })),
    pipelines: names.map((p) => ({
      policyName: p,
      pipeline: { mode: Mode.PRE_CALL, steps: [{ guardrail: p, onPass: Action.NEXT, onFail: Action.BLOCK, onError: Action.ACTION_UNSPECIFIED, passData: false, modifyResponseMessage: undefined, timeoutMs }] },
    })),
    pipelineManagedGuardrails: [],
    headers: { 'x-litellm-applied-policies': names.join(',') },
    revision: '0123456789abcdef',
  };
}

const fresh = (r: ResolveResponse) => Buffer.from(ResolveResponse.encode(r).finish());

describe('createResponseEncoder', () => {
  it('encodes every answer exactly as a fresh encoder would, whatever came before it', () => {
    const encode = createResponseEncoder();
    for (const n of [3, 40, 0, 5000, 1, 40]) expect(encode(answer(n)).equals(fresh(answer(n)))).toBe(true);
  });

  it('returns buffers that later encodes never overwrite', () => {
    const encode = createResponseEncoder();
    const first = encode(answer(3));
    const copy = Buffer.from(first);
    encode(answer(40));
    expect(first.equals(copy)).toBe(true);
  });

  it('starts clean after an encode that threw half-way', () => {
    const encode = createResponseEncoder();
    expect(() => encode(answer(2, -1))).toThrow(/uint32/); // a negative timeout is not a uint32
    expect(encode(answer(2)).equals(fresh(answer(2)))).toBe(true);
  });
});

describe('decodeResolveRequest', () => {
  it('decodes a request and refuses bytes that are not exactly one (INVALID_REQUEST)', () => {
    expect(decodeResolveRequest(Buffer.from([0x12, 0x01, 0x61])).requestPolicies).toEqual(['a']);
    for (const bytes of [[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x00, 0x12, 0x01, 0x61], [0x12, 0x01, 0x61, 0x0c]]) {
      expect(() => decodeResolveRequest(Buffer.from(bytes))).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    }
  });
});
