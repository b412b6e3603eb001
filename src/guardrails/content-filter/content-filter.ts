import type { GuardrailCheck, GuardrailVerdict } from '../../model/guardrail.js';
import { parseContentFilterConfig, type ContentFilterConfig, type FilterPattern } from './config.js';
import { escapeRegExpLiteral } from './regex.js';
import type { GuardrailKind } from '../kind.js';
import { createKeywordMatcher } from './keywords.js';

const PASS: GuardrailVerdict = Object.freeze({ outcome: 'pass' });

/**
 * LiteLLM's built-in content filter (`guardrail: litellm_content_filter`): prebuilt and custom
 * regex `patterns`, then `blocked_words`, each with action BLOCK (a `fail` verdict whose detail
 * names the pattern or keyword, never the matched text) or MASK (a `pass` with the texts
 * redacted as `[<PATTERN_NAME>_REDACTED]` / `[KEYWORD_REDACTED]`). Request and response texts are
 * checked alike. Synchronous; no time limit of its own.
 */
export const contentFilter: GuardrailKind = {
  kind: 'litellm_content_filter',
  compile(spec, ctx) {
    const config = parseContentFilterConfig(spec, ctx);
    if (config === undefined) return undefined;
    return { check: createContentFilterCheck(config), timeoutMs: 0 };
  },
};

/**
 * The check for a validated config. Per text, in order, as LiteLLM's apply_guardrail: each
 * pattern in `patterns:` order searches the text as masked so far (BLOCK fails at once, MASK
 * replaces every match); then each blocked word in list order that occurs in the text as masked
 * so far (case-insensitive substring) blocks or is masked. Keywords are found with one
 * Aho-Corasick pass per step, so the cost is linear in the text, not in the number of keywords.
 */
export function createContentFilterCheck(config: ContentFilterConfig): GuardrailCheck {
  const { patterns, keywords, keywordTag } = config;
  const matcher = createKeywordMatcher(keywords.map((k) => k.keyword));
  // LiteLLM masks a keyword with re.sub(re.escape(keyword), tag, text, flags=re.IGNORECASE).
  const maskers = keywords.map((k) => (k.action === 'MASK' ? new RegExp(escapeRegExpLiteral(k.keyword), 'giu') : undefined));
  const toTag = (): string => keywordTag;

  const filterText = (original: string): string | GuardrailVerdict => {
    let text = original;
    for (const pattern of patterns) {
      const masked = applyPattern(pattern, text);
      if (typeof masked !== 'string') return masked;
      text = masked;
    }
    if (keywords.length === 0) return text;
    let from = 0;
    for (;;) {
      const k = matcher.firstPresent(text.toLowerCase(), from);
      if (k < 0) return text;
      const masker = maskers[k];
      if (masker === undefined) return { outcome: 'fail', detail: (keywords[k] as (typeof keywords)[number]).blockDetail };
      masker.lastIndex = 0;
      text = text.replace(masker, toTag);
      from = k + 1;
    }
  };

  return (input) => {
    let replaced: string[] | undefined;
    for (let i = 0; i < input.texts.length; i++) {
      const original = input.texts[i] as string;
      const result = filterText(original);
      if (typeof result !== 'string') return result;
      if (result !== original) (replaced ??= [...input.texts])[i] = result;
    }
    return replaced === undefined ? PASS : { outcome: 'pass', texts: replaced };
  };
}

/**
 * Searches `text` for one pattern: a BLOCK match gives the fail verdict; MASK gives the text with
 * every match replaced by the tag (the same text when none). Zero-length matches are skipped;
 * a prebuilt's `accept` may reject a candidate or shorten it.
 */
function applyPattern(pattern: FilterPattern, text: string): string | GuardrailVerdict {
  const { regex, accept, requires } = pattern;
  if (requires !== undefined && !text.includes(requires)) return text;
  regex.lastIndex = 0;
  let out: string | undefined;
  let copiedTo = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    const start = m.index;
    let length = m[0].length;
    if (length === 0) {
      regex.lastIndex = start + (isSurrogatePairAt(text, start) ? 2 : 1);
      continue;
    }
    if (accept !== undefined) {
      length = accept(m[0]);
      // Candidates start with an ASCII character: one step on never splits a surrogate pair.
      regex.lastIndex = length === 0 ? start + 1 : start + length;
      if (length === 0) continue;
    }
    if (pattern.action === 'BLOCK') return { outcome: 'fail', detail: pattern.blockDetail };
    out = (out ?? '') + text.slice(copiedTo, start) + pattern.tag;
    copiedTo = start + length;
  }
  return out === undefined ? text : out + text.slice(copiedTo);
}

function isSurrogatePairAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
}
