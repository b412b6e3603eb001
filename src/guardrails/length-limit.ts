import { describeValue } from '../model/describe.js';
import type { GuardrailCheck, GuardrailVerdict } from '../model/guardrail.js';
import type { GuardrailSpec } from '../model/policy.js';
import type { GuardrailCompileContext, GuardrailKind } from './kind.js';
import { createParamReporter, isAbsent, warnUnknownKeys } from './params.js';

/** Characters per approximate token: `max_tokens` counts ceil(characters / 4). */
export const CHARS_PER_TOKEN = 4;

/** The validated limits of one length-limit guardrail; at least one is set. */
export interface LengthLimits {
  readonly maxChars: number | undefined;
  readonly maxTokens: number | undefined;
}

const PASS: GuardrailVerdict = Object.freeze({ outcome: 'pass' });
const OWN_KEYS = new Set(['max_chars', 'max_tokens']);

/**
 * Length limits (`guardrail: pdp_length_limit`; LiteLLM has no such kind): `max_chars` and/or
 * `max_tokens`, positive integers. A request is measured as all its message contents together, a
 * response as its text; characters are Unicode code points (Python's len), tokens are
 * approximated as ceil(characters / 4). Over a limit -> `fail` with the limit and the measured
 * size (numbers only). Synchronous.
 */
export const lengthLimit: GuardrailKind = {
  kind: 'pdp_length_limit',
  compile(spec, ctx) {
    const limits = parseLengthLimits(spec, ctx);
    return limits === undefined ? undefined : { check: createLengthLimitCheck(limits), timeoutMs: 0 };
  },
};

function parseLengthLimits(spec: GuardrailSpec, ctx: GuardrailCompileContext): LengthLimits | undefined {
  const report = createParamReporter(spec, ctx);
  warnUnknownKeys(spec.params, OWN_KEYS, [], report);
  const read = (key: 'max_chars' | 'max_tokens'): number | undefined => {
    const v = spec.params[key];
    if (isAbsent(v)) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
    report.error(`${key} must be a positive integer, got ${typeof v === 'number' ? String(v) : describeValue(v)}`, [key]);
    return undefined;
  };
  const maxChars = read('max_chars');
  const maxTokens = read('max_tokens');
  if (isAbsent(spec.params.max_chars) && isAbsent(spec.params.max_tokens)) {
    report.error('set max_chars or max_tokens (or both): the largest request or response, in characters or approximate tokens (characters / 4)', []);
  }
  return report.hasErrors ? undefined : Object.freeze({ maxChars, maxTokens });
}

/** The check for validated limits: sums the texts' lengths and fails on the first limit exceeded (characters first). */
export function createLengthLimitCheck(limits: LengthLimits): GuardrailCheck {
  const { maxChars, maxTokens } = limits;
  // A text never has more code points than UTF-16 units: below this many units, no limit can be exceeded.
  const unitsAlwaysWithin = Math.min(maxChars ?? Infinity, maxTokens === undefined ? Infinity : maxTokens * CHARS_PER_TOKEN);
  return (input) => {
    let units = 0;
    for (const t of input.texts) units += t.length;
    if (units <= unitsAlwaysWithin) return PASS;
    let chars = 0;
    for (const t of input.texts) chars += countCodePoints(t);
    if (maxChars !== undefined && chars > maxChars) {
      return { outcome: 'fail', detail: `length limit exceeded: ${chars} characters, max_chars is ${maxChars}` };
    }
    const tokens = Math.ceil(chars / CHARS_PER_TOKEN);
    if (maxTokens !== undefined && tokens > maxTokens) {
      return { outcome: 'fail', detail: `length limit exceeded: about ${tokens} tokens (${chars} characters / ${CHARS_PER_TOKEN}), max_tokens is ${maxTokens}` };
    }
    return PASS;
  };
}

/** Unicode code points in `s` (a surrogate pair counts once, a lone surrogate once). */
export function countCodePoints(s: string): number {
  let pairs = 0;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return s.length - pairs;
}
