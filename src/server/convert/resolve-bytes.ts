// Resolve's request and answer straight between bytes and the model, for the handler's memo-miss
// path: the same results as ts-proto's decode + toResolveRequest and toResolveResponse + ts-proto's
// encode (byte for byte; test/server/convert/resolve-bytes.test.ts compares them), without the
// intermediate proto objects, the reader and writer state, and a view per string that those
// allocate (measured: 8.5 KB per miss before, see docs/performance.md).
import type { MatchedPolicy, PolicyPipeline, RequestContext, ResolveDecision, ResolveRequest } from '../../model/decision.js';
import type { PipelineSpec } from '../../model/policy.js';
import { Pipeline } from '../../gen/guardrail/pdp/v1/pipeline.js';
import { checkList, checkValue, toPipeline } from './resolve.js';
import { decodeStrict, wireRules } from './wire-check.js';

const NO_STRINGS: readonly string[] = Object.freeze([]);

/** Where the varint read by `varint` ends (set by every call; the code is synchronous). */
let after = 0;

/** A varint of a well-formed message (checked before), up to 32 bits; sets `after`. */
function varint(buf: Buffer, pos: number): number {
  let b = buf[pos++] as number;
  if (b < 0x80) {
    after = pos;
    return b;
  }
  let value = b & 0x7f;
  for (let shift = 7; ; shift += 7) {
    b = buf[pos++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  after = pos;
  return value;
}

/** The end of the value of `tag` at `pos` (an unknown field; the bytes are well formed). */
function skip(buf: Buffer, pos: number, tag: number): number {
  switch (tag & 7) {
    case 0:
      while ((buf[pos++] as number) >= 0x80);
      return pos;
    case 1:
      return pos + 8;
    case 2:
      return varint(buf, pos) + after;
    case 3:
      for (;;) {
        const inner = varint(buf, pos);
        pos = after;
        if ((inner & 7) === 4) return pos;
        pos = skip(buf, pos, inner);
      }
    default:
      return pos + 4;
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Request bytes -> model ResolveRequest: the same request, and the same INVALID_REQUEST for the
 * same bytes, as `toResolveRequest(decodeResolveRequest(bytes))`. The lists of the result may be
 * one shared frozen empty array.
 */
export function readResolveRequest(bytes: Uint8Array): ResolveRequest {
  const buf = asBuffer(bytes);
  // The strict check first (it throws for anything but one well-formed message), then one read.
  decodeStrict(buf, wireRules('guardrail.pdp.v1.ResolveRequest'), noDecode);
  let context: RequestContext | undefined;
  let requestPolicies: string[] | undefined;
  let keyPolicies: string[] | undefined;
  let teamPolicies: string[] | undefined;
  for (let pos = 0; pos < buf.length; ) {
    const tag = varint(buf, pos);
    pos = after;
    if (tag === 10 || tag === 18 || tag === 26 || tag === 34) {
      const length = varint(buf, pos);
      const start = after;
      pos = start + length;
      if (tag === 10) context = readContext(buf, start, pos);
      else if (tag === 18) (requestPolicies ??= []).push(buf.toString('utf8', start, pos));
      else if (tag === 26) (keyPolicies ??= []).push(buf.toString('utf8', start, pos));
      else (teamPolicies ??= []).push(buf.toString('utf8', start, pos));
    } else {
      pos = skip(buf, pos, tag);
    }
  }
  // The checks in toResolveRequest's order, so the same field is named for the same bytes.
  context ??= { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: NO_STRINGS };
  checkValue(context.teamAlias, 'context.team_alias');
  checkValue(context.keyAlias, 'context.key_alias');
  checkValue(context.model, 'context.model');
  checkList(context.tags, 'context.tags', true);
  return {
    context,
    requestPolicies: checkList(requestPolicies ?? NO_STRINGS, 'request_policies', false),
    keyPolicies: checkList(keyPolicies ?? NO_STRINGS, 'key_policies', false),
    teamPolicies: checkList(teamPolicies ?? NO_STRINGS, 'team_policies', false),
  };
}

const noDecode = (): undefined => undefined;

/** A RequestContext between `pos` and `end` (unchecked bounds: readResolveRequest checks them). */
function readContext(buf: Buffer, pos: number, end: number): RequestContext {
  let teamAlias: string | undefined;
  let keyAlias: string | undefined;
  let model: string | undefined;
  let tags: string[] | undefined;
  while (pos < end) {
    const tag = varint(buf, pos);
    pos = after;
    if (tag === 10 || tag === 18 || tag === 26 || tag === 34) {
      const length = varint(buf, pos);
      const start = after;
      pos = start + length;
      // A repeated singular field: the last one wins, as in protobuf's parsers.
      if (tag === 10) teamAlias = buf.toString('utf8', start, pos);
      else if (tag === 18) keyAlias = buf.toString('utf8', start, pos);
      else if (tag === 26) model = buf.toString('utf8', start, pos);
      else (tags ??= []).push(buf.toString('utf8', start, pos));
    } else {
      pos = skip(buf, pos, tag);
    }
  }
  return { teamAlias, keyAlias, model, tags: tags ?? NO_STRINGS };
}

/** Answers larger than this do not keep their scratch buffer (see createDecisionEncoder). */
const MAX_KEPT_SCRATCH_BYTES = 64 * 1024;

/**
 * Creates an encoder of decisions as ResolveResponse bytes, identical to
 * `ResolveResponse.encode(toResolveResponse(decision))`. It writes into one reused scratch buffer
 * (a nested message or string gets a one-byte length and is moved up in the rare case its length
 * needs more) and returns a copy from Node's buffer pool: short-lived (grpc-js frames it into a
 * buffer of its own), so whoever keeps it (the memo) copies it out of the pool. Encoded pipelines
 * are kept per PipelineSpec (snapshot-owned, frozen). Synchronous use only.
 */
export function createDecisionEncoder(): (decision: ResolveDecision) => Buffer {
  let buf = Buffer.allocUnsafeSlow(4096);
  let pos = 0;
  const pipelineBytes = new WeakMap<PipelineSpec, Buffer>();

  const ensure = (n: number): void => {
    if (pos + n <= buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, pos + n));
    buf.copy(next, 0, 0, pos);
    buf = next;
  };
  const putVarint = (v: number): void => {
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[pos++] = v;
  };
  // After a length-delimited value written at start + 1: its length in front, moved up if it needs more than a byte.
  const closeLength = (start: number): void => {
    const length = pos - start - 1;
    if (length < 0x80) {
      buf[start] = length;
      return;
    }
    const width = length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
    ensure(width - 1);
    buf.copyWithin(start + width, start + 1, pos);
    pos = start;
    putVarint(length);
    pos += length;
  };
  const putString = (tag: number, s: string): void => {
    const n = s.length;
    ensure(6 + n * 3);
    buf[pos++] = tag;
    const start = pos++;
    // ASCII in JavaScript (names are ASCII nearly always); a call into Buffer's UTF-8 writer costs more.
    let i = 0;
    for (let c = 0; i < n && (c = s.charCodeAt(i)) < 0x80; i++) buf[pos++] = c;
    if (i < n) pos += buf.write(i === 0 ? s : s.slice(i), pos);
    closeLength(start);
  };
  const putStrings = (tag: number, list: readonly string[]): void => {
    for (let i = 0; i < list.length; i++) putString(tag, list[i] as string);
  };
  const putBytes = (tag: number, bytes: Buffer): void => {
    ensure(6 + bytes.length);
    buf[pos++] = tag;
    putVarint(bytes.length);
    pos += bytes.copy(buf, pos);
  };
  const encodedPipeline = (spec: PipelineSpec): Buffer => {
    let bytes = pipelineBytes.get(spec);
    if (bytes === undefined) pipelineBytes.set(spec, (bytes = Buffer.from(Pipeline.encode(toPipeline(spec)).finish())));
    return bytes;
  };
  const write = (d: ResolveDecision): void => {
    // Indexed loops: the lists are often frozen, and for-of over a frozen array allocates per step.
    putStrings(10, d.guardrails);
    putStrings(18, d.appliedPolicies);
    const matched = d.matchedPolicies;
    for (let i = 0; i < matched.length; i++) {
      const m = matched[i] as MatchedPolicy;
      ensure(2);
      buf[pos++] = 26;
      const start = pos++;
      if (m.policyName !== '') putString(10, m.policyName);
      if (m.matchedVia !== '') putString(18, m.matchedVia);
      if (m.applied) {
        ensure(2);
        buf[pos++] = 24;
        buf[pos++] = 1;
      }
      putStrings(34, m.guardrails);
      putStrings(42, m.inheritanceChain);
      closeLength(start);
    }
    const pipelines = d.pipelines;
    for (let i = 0; i < pipelines.length; i++) {
      const p = pipelines[i] as PolicyPipeline;
      ensure(2);
      buf[pos++] = 34;
      const start = pos++;
      if (p.policyName !== '') putString(10, p.policyName);
      putBytes(18, encodedPipeline(p.pipeline));
      closeLength(start);
    }
    putStrings(42, d.pipelineManagedGuardrails);
    const headers = d.headers;
    for (const key in headers) {
      const value = headers[key] as string;
      ensure(2);
      buf[pos++] = 50;
      const start = pos++;
      if (key !== '') putString(10, key);
      if (value !== '') putString(18, value);
      closeLength(start);
    }
    if (d.revision !== '') putString(58, d.revision);
  };
  return (decision) => {
    pos = 0;
    write(decision);
    const out = Buffer.allocUnsafe(pos);
    buf.copy(out, 0, 0, pos);
    if (buf.length > MAX_KEPT_SCRATCH_BYTES) buf = Buffer.allocUnsafeSlow(4096); // drop a rare huge scratch
    return out;
  };
}
