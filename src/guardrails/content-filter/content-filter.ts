import { finish, runSliced, type Steps } from '../../steps.js';
import type { GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../../model/guardrail.js';
import { runBounded, TIMED_OUT } from '../../regex/safety/bounded.js';
import { parseContentFilterConfig, type ContentFilterConfig, type FilterPattern } from './config.js';
import { escapeRegExpLiteral } from './regex.js';
import type { GuardrailKind } from '../kind.js';
import { createKeywordMatcher } from './keywords.js';
import { createCategoryCheck } from './categories.js';
import type { Span } from './context.js';

const PASS: GuardrailVerdict = Object.freeze({ outcome: 'pass' });

/**
 * Inputs up to this many characters (all texts together) are checked at once, synchronously;
 * longer ones as steps (a pattern over one large text, or a batch of small texts), yielding to the
 * event loop between them (runSliced) and stopping when the step's time is up.
 */
export const SLICED_MIN_CHARS = 16_384;

// The time budget of a watchdog run of custom patterns, for the characters it searches (each text
// once per custom pattern): linear, with ample room over the slowest ordinary pattern measured
// (~0.1 µs per character for a case-insensitive pattern over prose), capped so that no one run
// holds the event loop longer. A search slower than this is superlinear in the text.
const BUDGET_BASE_MS = 10;
const BUDGET_MS_PER_CHAR = 0.0005;
const BUDGET_MAX_MS = 250;

/** The time budget for custom patterns searching this many characters (summed over the patterns). */
export function patternBudgetMs(chars: number): number {
  return Math.min(BUDGET_MAX_MS, BUDGET_BASE_MS + chars * BUDGET_MS_PER_CHAR);
}

/**
 * LiteLLM's built-in content filter (`guardrail: litellm_content_filter`): LiteLLM's `categories`
 * (categories.ts), then prebuilt and custom regex `patterns`, then `blocked_words` (inline and from
 * `blocked_words_file`), each with action BLOCK (a `fail` verdict whose detail
 * names the pattern or keyword, never the matched text) or MASK (a `pass` with the texts
 * redacted as `[<PATTERN_NAME>_REDACTED]` / `[KEYWORD_REDACTED]`). Request and response texts are
 * checked alike. Synchronous for small inputs; custom patterns run within a time budget.
 */
export const contentFilter: GuardrailKind = {
  kind: 'litellm_content_filter',
  compile(spec, ctx) {
    const config = parseContentFilterConfig(spec, ctx);
    if (config === undefined) return undefined;
    const { onPatternTimeout } = ctx.env;
    const onTimeout =
      onPatternTimeout === undefined
        ? undefined
        : (pattern: FilterPattern, budgetMs: number) => onPatternTimeout({ use: 'content_filter', pattern: pattern.source, guardrail: spec.name, budgetMs });
    return { check: createContentFilterCheck(config, onTimeout), timeoutMs: 0 };
  },
};

/** The pattern being searched: read when a watchdog run stops, to name it. */
let searching: FilterPattern | undefined;

/**
 * The check for a validated config. Per text, in order, as LiteLLM's apply_guardrail: the
 * categories (createCategoryCheck), then each pattern in `patterns:` order searches the text as masked so far (BLOCK fails at once, MASK
 * replaces every match); then each blocked word in list order that occurs in the text as masked
 * so far (case-insensitive substring) blocks or is masked. Keywords are found with one
 * Aho-Corasick pass per step, so the cost is linear in the text, not in the number of keywords.
 *
 * Custom patterns search under the watchdog, within patternBudgetMs of the characters searched: a
 * search that runs out of it ends the check in `error` (naming the pattern, never the text), and
 * `onTimeout` is told once per pattern. Inputs over SLICED_MIN_CHARS run as steps (a promise).
 */
export function createContentFilterCheck(
  config: ContentFilterConfig,
  onTimeout?: (pattern: FilterPattern, budgetMs: number) => void,
): GuardrailCheck {
  const { patterns, keywords, keywordTag } = config;
  const checkCategories = config.categories === undefined ? undefined : createCategoryCheck(config.categories, keywordTag);
  const watchedCount = patterns.filter((p) => p.watched).length;
  const matcher = createKeywordMatcher(keywords.map((k) => k.keyword));
  // LiteLLM masks a keyword with re.sub(re.escape(keyword), tag, text, flags=re.IGNORECASE).
  const maskers = keywords.map((k) => (k.action === 'MASK' ? new RegExp(escapeRegExpLiteral(k.keyword), 'giu') : undefined));
  const toTag = (): string => keywordTag;
  const reported = new Set<FilterPattern>();

  const applyKeywords = (original: string): string | GuardrailVerdict => {
    let text = original;
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

  /** One text: LiteLLM's categories, then a step per pattern (searched by `search`), then the keywords. */
  function* filterText(original: string, search: Search): Steps<string | GuardrailVerdict> {
    let text = original;
    if (checkCategories !== undefined) {
      const checked = checkCategories(text);
      if (typeof checked !== 'string') return checked;
      text = checked;
    }
    for (const pattern of patterns) {
      const masked = search(pattern, text);
      if (typeof masked !== 'string') return masked;
      text = masked;
      yield;
    }
    return keywords.length === 0 ? text : applyKeywords(text);
  }

  /** Texts start..end-1 at once, or the first verdict that ends the check. */
  const filterBatch = (texts: readonly string[], start: number, end: number, into: { replaced: string[] | undefined }): GuardrailVerdict | undefined => {
    for (let i = start; i < end; i++) {
      const original = texts[i] as string;
      const result = finish(filterText(original, applyPattern));
      if (typeof result !== 'string') return result;
      if (result !== original) (into.replaced ??= [...texts])[i] = result;
    }
    return undefined;
  };

  /** Runs `fn` under the watchdog when `chars` characters are searched by custom patterns; a verdict when it ran out. */
  const watched = <T>(fn: () => T, chars: number): T | GuardrailVerdict => {
    if (chars === 0) return fn();
    const budgetMs = patternBudgetMs(chars);
    searching = undefined;
    const result = runBounded(fn, budgetMs);
    if (result !== TIMED_OUT) return result;
    const pattern = searching as FilterPattern | undefined;
    if (pattern !== undefined && !reported.has(pattern)) {
      reported.add(pattern);
      onTimeout?.(pattern, budgetMs);
    }
    const name = pattern === undefined ? '' : ` (pattern '${pattern.name}', ${Math.round(budgetMs)} ms)`;
    return { outcome: 'error', detail: `pattern matching exceeded its time budget${name}` };
  };

  const watchedSearch: Search = (pattern, text) => (pattern.watched ? watched(() => applyPattern(pattern, text), text.length) : applyPattern(pattern, text));

  /** Large inputs: batches of small texts, and a large text a pattern at a time; stops when the step's time is up. */
  function* sliced(input: GuardrailInput): Steps<GuardrailVerdict> {
    const { texts } = input;
    const into: { replaced: string[] | undefined } = { replaced: undefined };
    for (let i = 0; i < texts.length; ) {
      if (input.signal.aborted) return STOPPED;
      const original = texts[i] as string;
      if (original.length > SLICED_MIN_CHARS) {
        const result = yield* filterText(original, watchedSearch);
        if (typeof result !== 'string') return result;
        if (result !== original) (into.replaced ??= [...texts])[i] = result;
        i++;
      } else {
        let end = i;
        let chars = 0;
        while (end < texts.length && chars + (texts[end] as string).length <= SLICED_MIN_CHARS) chars += (texts[end++] as string).length;
        end = Math.max(end, i + 1);
        const start = i;
        const verdict = watched(() => filterBatch(texts, start, end, into), chars * watchedCount);
        if (verdict !== undefined) return verdict;
        i = end;
      }
      yield;
    }
    return into.replaced === undefined ? PASS : { outcome: 'pass', texts: into.replaced };
  }

  return (input) => {
    const { texts } = input;
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (chars > SLICED_MIN_CHARS) return runSliced(sliced(input));
    const into: { replaced: string[] | undefined } = { replaced: undefined };
    const verdict = watched(() => filterBatch(texts, 0, texts.length, into), chars * watchedCount);
    if (verdict !== undefined) return verdict;
    return into.replaced === undefined ? PASS : { outcome: 'pass', texts: into.replaced };
  };
}

/** Searches one text for one pattern: see applyPattern. */
type Search = (pattern: FilterPattern, text: string) => string | GuardrailVerdict;

/** The verdict of a check stopped because the step's time was up (the engine has answered already). */
const STOPPED: GuardrailVerdict = Object.freeze({ outcome: 'error', detail: "the step's time is up" });

/**
 * Searches `text` for one pattern: a BLOCK match gives the fail verdict; MASK gives the text with
 * every match replaced by the tag (the same text when none). Zero-length matches are skipped;
 * a prebuilt's `accept` may reject a candidate or shorten it.
 */
function applyPattern(pattern: FilterPattern, text: string): string | GuardrailVerdict {
  const { regex, accept, requires, context } = pattern;
  if (pattern.watched) searching = pattern;
  if (requires !== undefined && !text.includes(requires)) return text;
  if (context !== undefined) return applySpans(pattern, text, context.spans(text, (t) => matchSpans(pattern, t)));
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

/** Every match of a pattern in `text`, as spans (checked by its `accept`): for a contextual pattern. */
function matchSpans(pattern: FilterPattern, text: string): Span[] {
  const { regex, accept } = pattern;
  const spans: Span[] = [];
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    const start = m.index;
    let length = m[0].length;
    if (length > 0 && accept !== undefined) length = accept(m[0]);
    regex.lastIndex = length === 0 ? start + (isSurrogatePairAt(text, start) ? 2 : 1) : start + length;
    if (length > 0) spans.push([start, start + length]);
  }
  return spans;
}

/** The verdict or masked text for a pattern's spans (sorted, disjoint). */
function applySpans(pattern: FilterPattern, text: string, spans: readonly Span[]): string | GuardrailVerdict {
  if (spans.length === 0) return text;
  if (pattern.action === 'BLOCK') return { outcome: 'fail', detail: pattern.blockDetail };
  let out = '';
  let copiedTo = 0;
  for (const [start, end] of spans) {
    out += text.slice(copiedTo, start) + pattern.tag;
    copiedTo = end;
  }
  return out + text.slice(copiedTo);
}

function isSurrogatePairAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
}
