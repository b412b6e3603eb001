import { compilePythonFullmatch, compilePythonSearch } from '../../regex/python/python-regex.js';

/** A span of a text: [start, end). */
export type Span = readonly [number, number];

/**
 * LiteLLM's contextual prebuilt patterns (a value counts only next to a keyword, e.g. `BSN` before
 * a 9-digit number): finds the spans of a value pattern's matches that are near a keyword match,
 * plus, with `wordNumbers`, digit sequences spelled out as words ("one two three ...") whose digits
 * the value pattern matches whole. Near: overlapping a keyword, or separated from one by at most one
 * word and no digit (LiteLLM's `_match_near_keyword`). Spans are merged where they overlap. Every
 * search is linear in the text: the keyword and word-number patterns are literal alternatives, and
 * each value is compared with its nearest keyword on each side only (a farther keyword is separated
 * from it by at least the nearer one's words).
 */
export interface ContextMatcher {
  spans(text: string, values: (text: string) => Span[]): Span[];
}

export function createContextMatcher(keyword: string, valuePattern: string, accept: ((candidate: string) => number) | undefined, wordNumbers: boolean): ContextMatcher {
  const keywordSearch = compilePythonSearch(`(?i)${keyword}`);
  if (!keywordSearch.ok) throw new Error(`prebuilt keyword pattern does not compile: ${keywordSearch.message}`);
  const keywordRegex = keywordSearch.regex;
  const whole = wordNumbers ? compilePythonFullmatch(valuePattern) : undefined;
  if (whole !== undefined && !whole.ok) throw new Error(`prebuilt pattern does not compile: ${whole.message}`);
  return {
    spans(text, values) {
      keywordRegex.lastIndex = 0;
      const keywords: Span[] = [];
      for (let m = keywordRegex.exec(text); m !== null; m = keywordRegex.exec(text)) {
        if (m[0].length === 0) {
          keywordRegex.lastIndex = m.index + 1;
          continue;
        }
        keywords.push([m.index, m.index + m[0].length]);
      }
      if (keywords.length === 0) return [];
      const out = values(text).filter((span) => isNearKeyword(text, span, keywords));
      if (whole?.ok) {
        WORD_NUMBERS.lastIndex = 0;
        for (let m = WORD_NUMBERS.exec(text); m !== null; m = WORD_NUMBERS.exec(text)) {
          const digits = m[0].toLowerCase().match(WORD_NUMBER_TOKEN)?.map((t) => DIGIT_OF[t] as string).join('') ?? '';
          if (digits === '' || !whole.fullmatch(digits) || (accept !== undefined && accept(digits) !== digits.length)) continue;
          const span: Span = [m.index, m.index + m[0].length];
          if (isNearKeyword(text, span, keywords)) out.push(span);
        }
      }
      return mergeSpans(out);
    },
  };
}

const DIGIT_OF: Readonly<Record<string, string>> = { zero: '0', oh: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9' };
const TOKENS = Object.keys(DIGIT_OF).join('|');
// Two or more digit words, separated by whitespace or hyphens, not inside a longer word.
const WORD_NUMBERS = new RegExp(`(?<![A-Za-z])(?:${TOKENS})(?:[\\s\\-]+(?:${TOKENS}))+(?![A-Za-z])`, 'gi');
const WORD_NUMBER_TOKEN = new RegExp(TOKENS, 'g');

/** Whether `span` overlaps a keyword or has one on either side across an allowed gap. `keywords` are sorted and disjoint. */
function isNearKeyword(text: string, [start, end]: Span, keywords: readonly Span[]): boolean {
  // The last keyword starting before the value ends.
  let lo = 0;
  let hi = keywords.length - 1;
  let j = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((keywords[mid] as Span)[0] < end) {
      j = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (j >= 0) {
    const [, ke] = keywords[j] as Span;
    if (ke > start) return true;
    if (isGapAllowed(text.slice(ke, start))) return true;
  }
  const next = keywords[j + 1];
  return next !== undefined && isGapAllowed(text.slice(end, next[0]));
}

const DIGIT = /[\p{Nd}\u00B2\u00B3\u00B9\u2070\u2074-\u2079\u2080-\u2089]/u;
const WORD = /[\p{L}\p{N}_]+/gu;

/** LiteLLM's rule: blank, or no digit and at most one word. */
function isGapAllowed(gap: string): boolean {
  if (gap.trim() === '') return true;
  if (DIGIT.test(gap)) return false;
  return (gap.match(WORD)?.length ?? 0) <= 1;
}

/** Sorted, with overlapping spans merged (LiteLLM's `_merge_spans`). */
export function mergeSpans(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [[...(spans[0] as Span)]];
  for (const [s, e] of spans.slice(1)) {
    const last = merged[merged.length - 1] as [number, number];
    if (s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}
