// Strict checking of request bytes before ts-proto's generated decode, which accepts nearly
// anything: it stops without a word at a 0 tag or an end-group tag (inside nested messages too,
// then reads on from the middle of the nested message), lets a nested field run past its
// message's end, and reads invalid UTF-8 as U+FFFD. A request that is not exactly one well-formed
// message must never be answered as if it were some other, smaller request.
import { isUtf8 } from 'node:buffer';
import { fromBinary } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorSetSchema,
  type DescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { PdpError } from '../../errors.js';
import { DESCRIPTOR_SET_BASE64 } from '../../gen/descriptor-set.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;

/** Deeper nesting than this is refused (ts-proto's generated decode refuses it too). */
const MAX_DEPTH = 100;

/** What a known field's value must be; a field seen with another wire type is an unknown field. */
interface FieldRule {
  readonly name: string;
  /** The wire type of one value. */
  readonly wireType: number;
  readonly check: 'string' | 'message' | 'none';
  /** For messages: the nested message's rules (filled in after every message is built). */
  message: MessageRules | undefined;
  readonly isRepeated: boolean;
  /** A repeated varint or fixed-width field, which may also come packed (one LEN record). */
  readonly isPackable: boolean;
  /** A singular message field: bit in the "seen" mask (ts-proto replaces where protobuf merges). */
  readonly singularBit: number;
}

/** One message type's rules: its known fields by number. */
export interface MessageRules {
  /** The fully-qualified name, e.g. guardrail.pdp.v1.ResolveRequest. */
  readonly typeName: string;
  /** Indexed by field number; holes for numbers the message does not declare. */
  readonly fields: readonly (FieldRule | undefined)[];
}

let cache: Map<string, MessageRules> | undefined;

/**
 * The rules for a message of the embedded descriptor set (src/gen/descriptor-set.ts, what buf
 * compiled from proto/), so they follow every change to the .proto files. Built once.
 */
export function wireRules(typeName: string): MessageRules {
  cache ??= buildRules();
  const rules = cache.get(typeName);
  if (rules === undefined) throw new PdpError('INTERNAL', `no message ${typeName} in the embedded descriptor set`);
  return rules;
}

function buildRules(): Map<string, MessageRules> {
  const files = fromBinary(FileDescriptorSetSchema, Buffer.from(DESCRIPTOR_SET_BASE64, 'base64')).file;
  const all = new Map<string, MessageRules>();
  const pending: { rule: FieldRule; typeName: string }[] = [];
  const add = (scope: string, m: DescriptorProto): void => {
    const typeName = scope === '' ? m.name : `${scope}.${m.name}`;
    const fields: (FieldRule | undefined)[] = [];
    let bits = 0;
    for (const f of m.field) {
      const isRepeated = f.label === FieldDescriptorProto_Label.REPEATED;
      const isMessage = f.type === FieldDescriptorProto_Type.MESSAGE;
      if (isMessage && !isRepeated && bits >= 31) throw new PdpError('INTERNAL', `${typeName} has too many message fields to check`);
      const wireType = wireTypeOf(f.type);
      const rule: FieldRule = {
        name: f.name,
        wireType,
        check: f.type === FieldDescriptorProto_Type.STRING ? 'string' : isMessage ? 'message' : 'none',
        message: undefined,
        isRepeated,
        isPackable: isRepeated && wireType !== LEN && wireType !== START_GROUP,
        singularBit: isMessage && !isRepeated ? 1 << bits++ : 0,
      };
      fields[f.number] = rule;
      if (isMessage) pending.push({ rule, typeName: f.typeName.replace(/^\./, '') });
    }
    all.set(typeName, { typeName, fields });
    for (const nested of m.nestedType) add(typeName, nested);
  };
  for (const file of files) for (const m of file.messageType) add(file.package, m);
  for (const { rule, typeName } of pending) rule.message = all.get(typeName);
  return all;
}

function wireTypeOf(type: FieldDescriptorProto_Type): number {
  switch (type) {
    case FieldDescriptorProto_Type.DOUBLE:
    case FieldDescriptorProto_Type.FIXED64:
    case FieldDescriptorProto_Type.SFIXED64:
      return I64;
    case FieldDescriptorProto_Type.FLOAT:
    case FieldDescriptorProto_Type.FIXED32:
    case FieldDescriptorProto_Type.SFIXED32:
      return I32;
    case FieldDescriptorProto_Type.STRING:
    case FieldDescriptorProto_Type.BYTES:
    case FieldDescriptorProto_Type.MESSAGE:
      return LEN;
    case FieldDescriptorProto_Type.GROUP:
      return START_GROUP;
    default:
      return VARINT; // int32/64, uint32/64, sint32/64, bool, enum
  }
}

/** Why bytes are not a message: what is wrong, where (a byte offset), and in which field. */
interface Problem {
  readonly what: string;
  readonly at: number;
  /** Field path from the top, e.g. "messages[2].content"; empty at the top level. */
  path: string;
}

/**
 * Why `bytes` are not exactly one well-formed `rules` message, or undefined when they are. Well
 * formed means what protobuf's reference parsers accept, plus one rule: every tag has a field
 * number from 1 and a wire type from 0 to 5; every varint, length and fixed-width value is whole
 * and within its message; groups (of unknown fields) close with their own end-group tag and
 * nothing else does; every string of a known field is valid UTF-8 (proto3 strings must be); every
 * nested message is well formed within its length. A known field with another wire type is an
 * unknown field, as in protobuf's parsers. The added rule: a singular message field appears at
 * most once (protobuf merges repeats; the generated decode keeps only the last, so a repeat is
 * refused rather than half-read). The answer names the field and a byte offset, never content.
 */
export function wireProblem(bytes: Uint8Array, rules: MessageRules): string | undefined {
  const p = checkMessage(bytes, 0, bytes.length, rules, 0);
  if (p === undefined) return undefined;
  return `${p.path === '' ? '' : `${p.path}: `}${p.what} at byte ${p.at}`;
}

/**
 * `decode(bytes)` if the bytes are exactly one well-formed message (see wireProblem), else
 * INVALID_REQUEST naming the type, the field and the byte offset.
 */
export function decodeStrict<T>(bytes: Uint8Array, rules: MessageRules, decode: (bytes: Uint8Array) => T): T {
  const problem = wireProblem(bytes, rules);
  if (problem !== undefined) throw new PdpError('INVALID_REQUEST', `the request is not a valid ${rules.typeName}: ${problem}`);
  return decode(bytes);
}

function checkMessage(buf: Uint8Array, start: number, end: number, rules: MessageRules, depth: number): Problem | undefined {
  if (depth > MAX_DEPTH) return { what: `messages nested more than ${MAX_DEPTH} deep`, at: start, path: '' };
  let seen = 0;
  let pos = start;
  while (pos < end) {
    const tagAt = pos;
    const tag = readVarint32(buf, pos, end);
    if (tag < 0) return { what: 'a truncated tag', at: tagAt, path: '' };
    if (tag > 0xffffffff) return { what: 'a tag longer than 32 bits', at: tagAt, path: '' };
    pos = after;
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (number === 0) return { what: `a tag with field number 0 (byte 0x${hex(buf[tagAt]!)})`, at: tagAt, path: '' };
    if (wireType === END_GROUP) return { what: `an end-group tag (field ${number}) outside any group`, at: tagAt, path: '' };
    if (wireType > I32) return { what: `field ${number} has wire type ${wireType}, which does not exist`, at: tagAt, path: '' };
    const field = rules.fields[number];
    if (field !== undefined && wireType === LEN && (field.wireType === LEN || field.isPackable)) {
      const length = readVarint32(buf, pos, end);
      if (length < 0 || length > 0x7fffffff) {
        const what = length < 0 ? 'a truncated length' : 'a length over 2 GiB';
        return { what, at: pos, path: fieldPath(buf, start, tagAt, rules, number) };
      }
      const valueStart = after;
      const valueEnd = valueStart + length;
      if (valueEnd > end) {
        return { what: `a length of ${length} bytes that runs past the end of its message`, at: pos, path: fieldPath(buf, start, tagAt, rules, number) };
      }
      if (field.isPackable) {
        if (!isPacked(buf, valueStart, valueEnd, field.wireType))
          return { what: 'a malformed packed list', at: pos, path: fieldPath(buf, start, tagAt, rules, number) };
      } else if (field.check === 'string') {
        if (!isAscii(buf, valueStart, valueEnd) && !isUtf8(buf.subarray(valueStart, valueEnd)))
          return { what: 'invalid UTF-8', at: valueStart, path: fieldPath(buf, start, tagAt, rules, number) };
      } else if (field.message !== undefined) {
        if ((seen & field.singularBit) !== 0) {
          return { what: 'a second occurrence of a singular message field (send it once)', at: tagAt, path: fieldPath(buf, start, tagAt, rules, number) };
        }
        seen |= field.singularBit;
        const inner = checkMessage(buf, valueStart, valueEnd, field.message, depth + 1);
        if (inner !== undefined) {
          const here = fieldPath(buf, start, tagAt, rules, number);
          inner.path = inner.path === '' ? here : `${here}.${inner.path}`;
          return inner;
        }
      }
      pos = valueEnd;
      continue;
    }
    // An unknown field (or a known one with another wire type, which parsers treat as unknown).
    const next = skipValue(buf, pos, end, wireType, number, depth);
    if (next < 0) {
      const what = next === GROUP_NOT_CLOSED ? `a group (field ${number}) not closed by its own end-group tag` : `field ${number} (wire type ${wireType}) is truncated or malformed`;
      return { what, at: tagAt, path: '' };
    }
    pos = next;
  }
  return undefined;
}

/** Where the varint read by readVarint32 ends (set by every call; the code is synchronous). */
let after = 0;

/**
 * The varint of at most 5 bytes at `pos` (a tag or a length; up to 2^35 - 1, so callers can tell
 * a value over 32 bits), or -1 when it is truncated or longer; sets `after`.
 */
function readVarint32(buf: Uint8Array, pos: number, end: number): number {
  if (pos < end && buf[pos]! < 0x80) {
    after = pos + 1;
    return buf[pos]!;
  }
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return -1;
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      after = pos;
      return value;
    }
  }
  return -1;
}

const MALFORMED = -1;
const GROUP_NOT_CLOSED = -3;

/** The end of one value of `wireType` starting at `pos`, or MALFORMED (truncated too), or GROUP_NOT_CLOSED. */
function skipValue(buf: Uint8Array, pos: number, end: number, wireType: number, number: number, depth: number): number {
  switch (wireType) {
    case VARINT: {
      const max = Math.min(end, pos + 10);
      while (pos < max) if (buf[pos++]! < 0x80) return pos;
      return MALFORMED;
    }
    case I64:
      return pos + 8 <= end ? pos + 8 : MALFORMED;
    case I32:
      return pos + 4 <= end ? pos + 4 : MALFORMED;
    case LEN: {
      const length = readVarint32(buf, pos, end);
      if (length < 0 || length > 0x7fffffff) return MALFORMED;
      return after + length <= end ? after + length : MALFORMED;
    }
    case START_GROUP: {
      if (depth >= MAX_DEPTH) return MALFORMED;
      while (pos < end) {
        const tag = readVarint32(buf, pos, end);
        if (tag < 0 || tag > 0xffffffff || tag >>> 3 === 0 || (tag & 7) > I32) return MALFORMED;
        pos = after;
        if ((tag & 7) === END_GROUP) return tag >>> 3 === number ? pos : GROUP_NOT_CLOSED;
        pos = skipValue(buf, pos, end, tag & 7, tag >>> 3, depth + 1);
        if (pos < 0) return pos;
      }
      return GROUP_NOT_CLOSED;
    }
    default:
      return MALFORMED;
  }
}

function isPacked(buf: Uint8Array, pos: number, end: number, wireType: number): boolean {
  if (wireType === I32) return (end - pos) % 4 === 0;
  if (wireType === I64) return (end - pos) % 8 === 0;
  while (pos < end) {
    pos = skipValue(buf, pos, end, VARINT, 0, 0);
    if (pos < 0) return false;
  }
  return true;
}

function isAscii(buf: Uint8Array, pos: number, end: number): boolean {
  for (; pos < end; pos++) if (buf[pos]! >= 0x80) return false;
  return true;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * The name of field `number` whose record starts at `tagAt`, with its index when repeated (how
 * many records of that field come before it). Called only for a problem, so it may re-read the
 * (well-formed) records before `tagAt`.
 */
function fieldPath(buf: Uint8Array, start: number, tagAt: number, rules: MessageRules, number: number): string {
  const field = rules.fields[number];
  if (field === undefined) return `field ${number}`;
  if (!field.isRepeated) return field.name;
  let index = 0;
  let pos = start;
  while (pos < tagAt && pos >= 0) {
    const tag = readVarint32(buf, pos, tagAt);
    if (tag < 0) break;
    if (tag >>> 3 === number) index++;
    pos = skipValue(buf, after, tagAt, tag & 7, tag >>> 3, 0);
  }
  return `${field.name}[${index}]`;
}
