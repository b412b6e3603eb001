import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolve } from '../../../src/engine/resolve.js';
import { resolveRequestFromJson } from '../../../src/cli/request-json.js';
import { ResolveRequest, ResolveResponse } from '../../../src/gen/guardrail/pdp/v1/resolve.js';
import type { ResolveDecision } from '../../../src/model/decision.js';
import { decodeResolveRequest } from '../../../src/server/convert/encoded.js';
import { createDecisionEncoder, readResolveRequest } from '../../../src/server/convert/resolve-bytes.js';
import { toResolveRequest, toResolveResponse } from '../../../src/server/convert/resolve.js';
import { snapshotOf } from '../../helpers/snapshot.js';

// The benchmark's workload is plain ESM JavaScript; a computed specifier imports it without declarations.
const { syntheticBundleData, syntheticRequest } = await import(new URL('../../../bench/synthetic.mjs', import.meta.url).href);

/** What the generated path gives for these bytes: the request, or the error message. */
const generated = (bytes: Uint8Array): unknown => {
  try {
    return toResolveRequest(decodeResolveRequest(bytes));
  } catch (e) {
    return { error: (e as Error).message };
  }
};
const direct = (bytes: Uint8Array): unknown => {
  try {
    return readResolveRequest(bytes);
  } catch (e) {
    return { error: (e as Error).message };
  }
};
const encoded = (r: Partial<ResolveRequest>): Uint8Array =>
  ResolveRequest.encode({ context: undefined, requestPolicies: [], keyPolicies: [], teamPolicies: [], ...r }).finish();

describe('readResolveRequest', () => {
  it('reads what the generated decode and toResolveRequest read, or refuses with the same message', () => {
    const long = 'x'.repeat(4097);
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      encoded({ context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] } }),
      encoded({ context: { teamAlias: 'équipe', keyAlias: '', model: 'gpt-4', tags: ['😀', 'b', ''] }, teamPolicies: ['p'], keyPolicies: ['k', 'l'], requestPolicies: ['policy_1'] }),
      encoded({ context: { teamAlias: long, keyAlias: undefined, model: undefined, tags: [] } }),
      encoded({ context: { teamAlias: 't', keyAlias: undefined, model: undefined, tags: [long] } }),
      encoded({ teamPolicies: ['a', ''] }),
      encoded({ keyPolicies: Array.from({ length: 257 }, (_, i) => `k${i}`) }),
      encoded({ context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: Array.from({ length: 257 }, (_, i) => `t${i}`) } }),
      // Unknown fields of every wire type, at both levels; a known field with another wire type is unknown too.
      Uint8Array.from([0x28, 0x96, 0x01, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x02, 0x68, 0x69, 0x43, 0x48, 0x01, 0x44, 0x4d, 1, 2, 3, 4, 0x10, 0x05, 0x12, 0x01, 0x61]),
      Uint8Array.from([0x0a, 0x0b, 0x28, 0x01, 0x0a, 0x01, 0x74, 0x08, 0x07, 0x1a, 0x02, 0x6d, 0x31, 0x1a, 0x01, 0x6d]),
      // A singular string sent twice: the last one wins.
      Uint8Array.from([0x0a, 0x06, 0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62]),
      // Not one well-formed message: a 0 tag, a truncated length, invalid UTF-8, a second context.
      Uint8Array.from([0x00, 0x12, 0x01, 0x61]),
      Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      Uint8Array.from([0x12, 0x01, 0xff]),
      Uint8Array.from([0x0a, 0x00, 0x0a, 0x00]),
    ];
    for (const bytes of cases) expect(direct(bytes)).toEqual(generated(bytes));
    for (const bytes of cases) expect(direct(Buffer.from(bytes))).toEqual(generated(bytes));
  });

  it('agrees with the generated path on seeded mutations of valid requests', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = encoded({ context: { teamAlias: 'team-a', keyAlias: 'key-1', model: 'gpt-4o', tags: ['t1', 't2'] }, teamPolicies: ['p1'], requestPolicies: ['r'] });
    for (let n = 0; n < 3000; n++) {
      const bytes = Uint8Array.from(base);
      for (let k = rand(3) + 1; k > 0; k--) bytes[rand(bytes.length)] = rand(256);
      expect(direct(bytes)).toEqual(generated(bytes));
    }
  });
});

/** The bytes the generated path gives for a decision. */
const reference = (d: ResolveDecision): Buffer => Buffer.from(ResolveResponse.encode(toResolveResponse(d)).finish());

describe('createDecisionEncoder', () => {
  it('encodes every golden case exactly as the generated encode does', () => {
    const spec = parse(readFileSync(new URL('../../fixtures/cases/litellm-spec.yaml', import.meta.url), 'utf8')) as { cases: { request: unknown }[] };
    const snapshot = snapshotOf(readFileSync(new URL('../../fixtures/bundles/litellm-spec/bundle.yaml', import.meta.url), 'utf8'));
    const encode = createDecisionEncoder();
    expect(spec.cases.length).toBeGreaterThan(5);
    for (const c of spec.cases) {
      const decision = resolve(snapshot, toResolveRequest(resolveRequestFromJson(c.request, 'request')));
      expect(encode(decision).equals(reference(decision))).toBe(true);
    }
  });

  it('encodes the benchmark workload exactly as the generated encode does', () => {
    const snapshot = snapshotOf(JSON.stringify(syntheticBundleData(2000)));
    const encode = createDecisionEncoder();
    for (let i = 0; i < 500; i++) {
      const decision = resolve(snapshot, toResolveRequest(syntheticRequest(2000, i)));
      expect(encode(decision).equals(reference(decision))).toBe(true);
    }
  });

  it('encodes pipelines, long and non-ASCII strings, empty names and empty headers exactly, and never overwrites an earlier answer', () => {
    const encode = createDecisionEncoder();
    const step = { guardrail: 'g', onPass: 'next', onFail: 'block', onError: 'allow', passData: true, modifyResponseMessage: 'ré', timeoutMs: 4_000_000_000 } as const;
    const noFrills = { guardrail: '', onPass: 'allow', onFail: 'block', onError: undefined, passData: false, modifyResponseMessage: undefined, timeoutMs: undefined } as const;
    const decision = (n: number, text: string): ResolveDecision => ({
      guardrails: [text, 'b'],
      appliedPolicies: [`p${n}`],
      matchedPolicies: Array.from({ length: n }, (_, i) => ({ policyName: i === 0 ? '' : `p${i}`, matchedVia: i === 1 ? '' : `team:${text}`, applied: i % 2 === 0, guardrails: [`g${i}`], inheritanceChain: [`p${i}`, 'base'] })),
      pipelines: [{ policyName: 'pp', pipeline: { mode: 'post_call', steps: [step, noFrills] } }, { policyName: '', pipeline: { mode: 'pre_call', steps: [noFrills] } }],
      pipelineManagedGuardrails: ['g'],
      headers: n === 0 ? {} : { 'x-litellm-applied-policies': text, '': '' },
      revision: n === 3 ? '' : 'rev',
    });
    const answers: [Buffer, Buffer][] = [];
    for (const [n, text] of [[0, 'a'], [1, 'é😀'], [3, 'x'.repeat(127)], [2, 'y'.repeat(128)], [40, 'z'.repeat(20_000)], [600, 'w'.repeat(300)], [1, 'a']] as const) {
      const d = decision(n, text);
      const bytes = encode(d);
      expect(bytes.equals(reference(d))).toBe(true);
      answers.push([bytes, Buffer.from(bytes)]);
    }
    for (const [bytes, copy] of answers) expect(bytes.equals(copy)).toBe(true);
  });
});
