// Issue 11, defect 9: a request that is not exactly one well-formed message is INVALID_ARGUMENT,
// never answered as some other (smaller) request. Before the fix, a Resolve starting with 0x00 or
// carrying a stray end-group tag decoded as the empty request and was answered OK with the global
// policies only (the caller's team and key policies dropped: fail-open), and other undecodable
// bytes got INTERNAL, which the docs reserve for bugs.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutePipelineRequest } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest } from '../../src/gen/guardrail/pdp/v1/resolve.js';
import { startApp, type Started } from '../helpers/app.js';
import { rawSession } from '../helpers/raw-grpc.js';
import { seededRandom } from '../helpers/random.js';

const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;
const RESOLVE = '/guardrail.pdp.v1.DecisionService/Resolve';
const EXECUTE = '/guardrail.pdp.v1.DecisionService/ExecutePipeline';
const WATCH = '/guardrail.pdp.v1.DecisionService/Watch';

let s: Started;
let raw: ReturnType<typeof rawSession>;
beforeAll(async () => {
  s = await startApp(EXAMPLE);
  raw = rawSession(s.grpcAddress);
});
afterAll(async () => {
  raw.close();
  await s.stop();
});

const encodeResolve = (r: Partial<ResolveRequest>): Uint8Array =>
  ResolveRequest.encode({ context: undefined, requestPolicies: [], keyPolicies: [], teamPolicies: [], ...r }).finish();

describe('malformed requests (robustness)', () => {
  it('refuses a Resolve that starts with 0x00 or carries a stray end-group tag, instead of answering the empty request', async () => {
    const real = encodeResolve({ context: { teamAlias: 'health-team', model: 'gpt-4', tags: [] } });
    expect((await raw.unary(RESOLVE, real)).code).toBe(status.OK);
    for (const bytes of [Uint8Array.from([0x00, ...real]), Uint8Array.from([0x0c, ...real]), Uint8Array.from([...real.subarray(0, 2), 0x0c, ...real.subarray(2)])]) {
      const res = await raw.unary(RESOLVE, bytes);
      expect(res.code).toBe(status.INVALID_ARGUMENT);
      expect(res.details).toMatch(/^the request is not a valid guardrail\.pdp\.v1\.ResolveRequest: /);
    }
  });

  it('refuses invalid UTF-8 instead of reading it as U+FFFD, and says where, without echoing it', async () => {
    const bytes = Buffer.from(encodeResolve({ teamPolicies: ['strict-mode'] }));
    bytes[bytes.length - 1] = 0xff;
    const res = await raw.unary(RESOLVE, bytes);
    expect(res).toEqual({ code: status.INVALID_ARGUMENT, details: 'the request is not a valid guardrail.pdp.v1.ResolveRequest: team_policies[0]: invalid UTF-8 at byte 2' });
  });

  it('answers undecodable bytes INVALID_ARGUMENT, never INTERNAL (which means a bug)', async () => {
    for (const path of [RESOLVE, EXECUTE, WATCH]) {
      const res = await raw.unary(path, Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
      expect(res.code, path).toBe(status.INVALID_ARGUMENT);
    }
  });

  it('refuses an ExecutePipeline whose messages hide a 0 tag, instead of running the pipeline over fewer messages', async () => {
    const good = ExecutePipelineRequest.encode({ policyName: 'strict-mode', mode: 0, messages: [{ role: 'user', content: 'hi' }], context: undefined, requestId: '' }).finish();
    // messages[0] with a 0 tag and an extra field after it, which the generated decode would drop
    const head = good.subarray(0, good.length - 12); // policy_name; the 12 bytes cut are messages[0]
    const bytes = Uint8Array.from([...head, 0x22, 0x0b, 0x0a, 0x04, 0x75, 0x73, 0x65, 0x72, 0x00, 0x12, 0x02, 0x68, 0x69]);
    const res = await raw.unary(EXECUTE, bytes);
    expect(res.code).toBe(status.INVALID_ARGUMENT);
    expect(res.details).toBe(`the request is not a valid guardrail.pdp.v1.ExecutePipelineRequest: messages[0]: a tag with field number 0 (byte 0x00) at byte ${head.length + 8}`);
  });

  it('answers OK only to bytes that really are a ResolveRequest (seeded random and mutated bytes, counted)', async () => {
    const random = seededRandom(20_251_121);
    const valid = [
      encodeResolve({}),
      encodeResolve({ context: { teamAlias: 'health-team', model: 'gpt-4', tags: ['beta'] } }),
      encodeResolve({ context: { keyAlias: 'ci-key', tags: [] }, requestPolicies: ['strict-mode'], keyPolicies: ['strict-mode'] }),
    ];
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) inputs.push(Uint8Array.from({ length: 1 + Math.floor(random() * 48) }, () => Math.floor(random() * 256)));
    for (let i = 0; i < 200; i++) inputs.push(mutate(valid[i % valid.length]!, random));
    const tally = { ok: 0, refusedAsValid: 0, refusedAsMalformed: 0, reallyValid: 0 };
    for (const bytes of inputs) {
      const isValid = isResolveRequest(bytes);
      const res = await raw.unary(RESOLVE, bytes);
      const isMalformedAnswer = res.code === status.INVALID_ARGUMENT && res.details.startsWith('the request is not a valid ');
      if (isValid) tally.reallyValid++;
      if (res.code === status.OK) tally.ok++;
      else if (isMalformedAnswer) tally.refusedAsMalformed++;
      else tally.refusedAsValid++; // e.g. an empty policy name: decoded, then refused by the field checks
      // Valid bytes are decoded and then answered (OK, or INVALID_ARGUMENT for a bad value); the rest are refused as malformed.
      const expected = isValid ? (res.code === status.OK ? status.OK : status.INVALID_ARGUMENT) : status.INVALID_ARGUMENT;
      const hex = Buffer.from(bytes).toString('hex');
      expect({ hex, isMalformedAnswer, code: res.code }).toEqual({ hex, isMalformedAnswer: !isValid, code: expected });
    }
    expect(tally.ok).toBeLessThanOrEqual(tally.reallyValid);
    expect(tally.reallyValid).toBeGreaterThan(10); // the mutations keep some inputs valid, so both sides are exercised
    console.info(`malformed-requests tally over ${inputs.length} inputs: ${JSON.stringify(tally)}`);
  });
});


/** A valid encoding with one random change: a byte replaced, inserted or removed, or the tail cut. */
function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = [...bytes];
  const at = Math.floor(random() * (out.length + 1));
  const byte = Math.floor(random() * 256);
  switch (Math.floor(random() * 4)) {
    case 0:
      if (at < out.length) out[at] = byte;
      else out.push(byte);
      break;
    case 1:
      out.splice(at, 0, byte);
      break;
    case 2:
      out.splice(at, 1);
      break;
    default:
      out.length = at;
  }
  return Uint8Array.from(out);
}

// The test's own reading of protobuf's encoding rules,
// written independently of src/server/convert/wire-check.ts: is `bytes` exactly one ResolveRequest?
// Known fields with their own wire type are checked (strings: valid UTF-8; messages: recursively,
// within their length, a singular message at most once); anything else is an unknown field that
// must be well formed (groups closed by their own end-group tag).
interface Schema {
  readonly [field: number]: 'string' | Schema;
}
const CONTEXT: Schema = { 1: 'string', 2: 'string', 3: 'string', 4: 'string' };
const RESOLVE_SCHEMA: Schema = { 1: CONTEXT, 2: 'string', 3: 'string', 4: 'string' };

function isResolveRequest(bytes: Uint8Array): boolean {
  try {
    readMessage(bytes, RESOLVE_SCHEMA);
    return true;
  } catch {
    return false;
  }
}

function readMessage(bytes: Uint8Array, schema: Schema): void {
  const cursor = { bytes, pos: 0 };
  const seenMessages = new Set<number>();
  while (cursor.pos < bytes.length) {
    const tag = readVarint(cursor, 5);
    if (tag > 0xffffffff) throw new Error('tag overflow');
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0 || wireType === 4 || wireType > 5) throw new Error('bad tag');
    const known = schema[field];
    if (known !== undefined && wireType === 2) {
      const value = readLengthDelimited(cursor);
      if (known === 'string') new TextDecoder('utf-8', { fatal: true }).decode(value);
      else {
        if (seenMessages.has(field)) throw new Error('repeated singular message');
        seenMessages.add(field);
        readMessage(value, known);
      }
    } else skipField(cursor, field, wireType, 0);
  }
}

function readVarint(cursor: { bytes: Uint8Array; pos: number }, maxBytes: number): number {
  let value = 0;
  for (let i = 0; i < maxBytes; i++) {
    if (cursor.pos >= cursor.bytes.length) throw new Error('truncated varint');
    const b = cursor.bytes[cursor.pos++]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  throw new Error('varint too long');
}

function readLengthDelimited(cursor: { bytes: Uint8Array; pos: number }): Uint8Array {
  const length = readVarint(cursor, 5);
  if (length > 0x7fffffff || cursor.pos + length > cursor.bytes.length) throw new Error('length past the end');
  const value = cursor.bytes.subarray(cursor.pos, cursor.pos + length);
  cursor.pos += length;
  return value;
}

function skipField(cursor: { bytes: Uint8Array; pos: number }, field: number, wireType: number, depth: number): void {
  const fixed = wireType === 1 ? 8 : wireType === 5 ? 4 : 0;
  if (fixed > 0) {
    if (cursor.pos + fixed > cursor.bytes.length) throw new Error('truncated fixed');
    cursor.pos += fixed;
  } else if (wireType === 0) readVarint(cursor, 10);
  else if (wireType === 2) readLengthDelimited(cursor);
  else if (wireType === 3) {
    if (depth > 100) throw new Error('too deep');
    for (;;) {
      const tag = readVarint(cursor, 5);
      if (tag > 0xffffffff || Math.floor(tag / 8) === 0 || tag % 8 > 5) throw new Error('bad tag in group');
      if (tag % 8 === 4) {
        if (Math.floor(tag / 8) !== field) throw new Error('mismatched end group');
        return;
      }
      skipField(cursor, Math.floor(tag / 8), tag % 8, depth + 1);
    }
  } else throw new Error('bad wire type');
}
