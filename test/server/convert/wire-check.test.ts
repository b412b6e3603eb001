import { describe, expect, it } from 'vitest';
import { Action, ExecutePipelineRequest, Mode } from '../../../src/gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest } from '../../../src/gen/guardrail/pdp/v1/resolve.js';
import { WatchRequest } from '../../../src/gen/guardrail/pdp/v1/watch.js';
import { decodeStrict, wireProblem, wireRules } from '../../../src/server/convert/wire-check.js';

const RESOLVE = wireRules('guardrail.pdp.v1.ResolveRequest');
const PIPELINE = wireRules('guardrail.pdp.v1.ExecutePipelineRequest');

const resolveBytes = (r: Partial<ResolveRequest>): number[] => [
  ...ResolveRequest.encode({ context: undefined, requestPolicies: [], keyPolicies: [], teamPolicies: [], ...r }).finish(),
];
const problem = (bytes: number[], rules = RESOLVE): string | undefined => wireProblem(Uint8Array.from(bytes), rules);

describe('wireProblem', () => {
  it('accepts what ts-proto encodes, for every request type, non-ASCII text included', () => {
    const resolve = resolveBytes({ context: { teamAlias: 'équipe', keyAlias: '', model: 'gpt-4', tags: ['😀', 'b'] }, teamPolicies: ['p'] });
    expect(problem(resolve)).toBeUndefined();
    const pipeline = ExecutePipelineRequest.encode({
      pipeline: { mode: Mode.POST_CALL, steps: [{ guardrail: 'g', onPass: Action.NEXT, onFail: Action.BLOCK, onError: Action.ALLOW, passData: true, modifyResponseMessage: 'm', timeoutMs: 4_000_000_000 }] },
      mode: Mode.POST_CALL,
      messages: [{ role: 'user', content: 'héllo' }],
      responseText: 'r',
      context: { tags: ['t'] },
      requestId: 'id',
    }).finish();
    expect(wireProblem(pipeline, PIPELINE)).toBeUndefined();
    expect(wireProblem(WatchRequest.encode({ knownRevision: 'abc' }).finish(), wireRules('guardrail.pdp.v1.WatchRequest'))).toBeUndefined();
    expect(problem([])).toBeUndefined(); // the empty message
  });

  it('refuses a 0 tag and a stray end-group tag, at the top and inside a nested message', () => {
    expect(problem([0x00, 0x12, 0x01, 0x61])).toBe('a tag with field number 0 (byte 0x00) at byte 0');
    expect(problem([0x12, 0x01, 0x61, 0x0c])).toBe('an end-group tag (field 1) outside any group at byte 3');
    // context { tags: "a" } with a 0 tag, then an end-group tag, inside it
    expect(problem([0x0a, 0x04, 0x22, 0x01, 0x61, 0x00])).toBe('context: a tag with field number 0 (byte 0x00) at byte 5');
    expect(problem([0x0a, 0x04, 0x22, 0x01, 0x61, 0x0c, 0x12, 0x01, 0x61])).toBe('context: an end-group tag (field 1) outside any group at byte 5');
  });

  it('refuses a nested field that runs past its message, and anything truncated', () => {
    // context of 3 bytes holding a 5-byte tag value
    expect(problem([0x0a, 0x03, 0x22, 0x05, 0x61, 0x62, 0x63, 0x64])).toBe('context.tags[0]: a length of 5 bytes that runs past the end of its message at byte 3');
    expect(problem([0x12, 0x05, 0x61])).toBe('request_policies[0]: a length of 5 bytes that runs past the end of its message at byte 1');
    expect(problem([0x12])).toBe('request_policies[0]: a truncated length at byte 1');
    expect(problem([0x80])).toBe('a truncated tag at byte 0');
    expect(problem([0x28, 0x80])).toBe('field 5 (wire type 0) is truncated or malformed at byte 0');
    expect(problem([0x2d, 0x01, 0x02])).toBe('field 5 (wire type 5) is truncated or malformed at byte 0');
    expect(problem([0x29, 0x01, 0x02, 0x03, 0x04])).toBe('field 5 (wire type 1) is truncated or malformed at byte 0');
    expect(problem([0x28, ...Array(10).fill(0xff), 0x01])).toBe('field 5 (wire type 0) is truncated or malformed at byte 0'); // 11-byte varint
    expect(problem([0xff, 0xff, 0xff, 0xff, 0x7f])).toBe('a tag longer than 32 bits at byte 0');
  });

  it('refuses invalid UTF-8 in a known string field, naming it with its index', () => {
    expect(problem([0x22, 0x01, 0x61, 0x22, 0x01, 0xff])).toBe('team_policies[1]: invalid UTF-8 at byte 5');
    expect(problem([0x0a, 0x04, 0x22, 0x02, 0xed, 0xa0])).toBe('context.tags[0]: invalid UTF-8 at byte 4'); // a truncated surrogate
    const messages = ExecutePipelineRequest.encode({ policyName: 'p', mode: 0, messages: [{ role: 'user', content: 'ok' }, { role: 'user', content: 'x' }], context: undefined, requestId: '' }).finish();
    const broken = Uint8Array.from(messages);
    broken[broken.length - 1] = 0xfe; // the last byte of messages[1].content
    expect(wireProblem(broken, PIPELINE)).toBe(`messages[1].content: invalid UTF-8 at byte ${broken.length - 1}`);
  });

  it('refuses wire types 6 and 7, and groups not closed by their own end-group tag', () => {
    expect(problem([0x2e])).toBe('field 5 has wire type 6, which does not exist at byte 0');
    expect(problem([0x2b, 0x08, 0x01])).toBe('a group (field 5) not closed by its own end-group tag at byte 0');
    expect(problem([0x2b, 0x34])).toBe('a group (field 5) not closed by its own end-group tag at byte 0'); // ends field 6
  });

  it('accepts unknown fields of every wire type, and known fields with another wire type, as protobuf does', () => {
    const unknown = [0x28, 0x96, 0x01, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x02, 0xff, 0xfe, 0x45, 1, 2, 3, 4, 0x4b, 0x08, 0x01, 0x4c];
    expect(problem([...unknown, 0x12, 0x01, 0x61])).toBeUndefined();
    expect(ResolveRequest.decode(Uint8Array.from([...unknown, 0x12, 0x01, 0x61])).requestPolicies).toEqual(['a']);
    // request_policies (field 2) sent as a varint: an unknown field to protobuf and to the generated decode
    expect(problem([0x10, 0x01, 0x12, 0x01, 0x61])).toBeUndefined();
    expect(ResolveRequest.decode(Uint8Array.from([0x10, 0x01, 0x12, 0x01, 0x61])).requestPolicies).toEqual(['a']);
  });

  it('refuses a singular message field sent twice (protobuf would merge; the generated decode keeps the last)', () => {
    expect(problem([0x0a, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x03, 0x12, 0x01, 0x62])).toBe(
      'context: a second occurrence of a singular message field (send it once) at byte 5',
    );
  });

  it('decodeStrict throws INVALID_REQUEST naming the type, the field and the byte, never the content', () => {
    const bytes = Uint8Array.from([0x22, 0x06, 0x73, 0x65, 0x63, 0x72, 0x65, 0xff]); // "secre\xff"
    expect(() => decodeStrict(bytes, RESOLVE, ResolveRequest.decode)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: 'the request is not a valid guardrail.pdp.v1.ResolveRequest: team_policies[0]: invalid UTF-8 at byte 2' }),
    );
    expect(decodeStrict(Uint8Array.from([0x22, 0x01, 0x61]), RESOLVE, ResolveRequest.decode).teamPolicies).toEqual(['a']);
  });
});
