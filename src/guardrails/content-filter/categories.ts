import { describeValue } from '../../model/describe.js';
import { builtinCategoryKey, categoryFileKey, type BundleFile, type DocPath } from '../../model/bundle.js';
import type { GuardrailVerdict } from '../../model/guardrail.js';
import type { GuardrailCompileContext } from '../kind.js';
import { isAbsent, isMapping, type ParamReporter } from '../params.js';
import type { ContentFilterAction } from './action.js';
import { createKeywordMatcher, type KeywordMatcher } from './keywords.js';

/** LiteLLM's severities, lowest first: a keyword counts when its severity reaches the threshold. */
const SEVERITY_RANK: Readonly<Record<string, number>> = { low: 0, medium: 1, high: 2 };
const SEVERITIES = Object.keys(SEVERITY_RANK);
const CATEGORY_KEYS = new Set(['category', 'enabled', 'action', 'severity_threshold', 'category_file']);

/** One category keyword: lower-cased, with its category, severity and action (LiteLLM's category_keywords entry). */
interface CategoryKeyword {
  readonly keyword: string;
  readonly category: string;
  readonly severity: string;
  readonly action: ContentFilterAction;
}

/** A conditional category: an identifier word and a block word in one sentence. */
interface ConditionalCategory {
  readonly category: string;
  readonly action: ContentFilterAction;
  readonly identifiers: readonly string[];
  readonly blockWords: readonly string[];
}

/** The validated categories of one content filter. Frozen. */
export interface ContentFilterCategories {
  /** Every category's exceptions, lower-cased: one in a text turns every category check off for it, as in LiteLLM. */
  readonly exceptions: readonly string[];
  readonly conditionals: readonly ConditionalCategory[];
  /** In LiteLLM's dict order: first insertion, last value. */
  readonly keywords: readonly CategoryKeyword[];
}

/** What reading the categories needs from the content filter's parser. */
interface CategoryContext {
  readonly ctx: GuardrailCompileContext;
  readonly report: ParamReporter;
  /** The filter's own severity_threshold (default medium). */
  readonly threshold: string;
}

/**
 * LiteLLM's content filter `categories` (its `_load_categories`): each enabled entry names a
 * category, read from its `category_file` or, for a built-in name, from LiteLLM's categories
 * directory, both as the source read them into the bundle's files. A category file is YAML
 * (`keywords` with severities, `always_block_keywords`, `exceptions`, and the conditional
 * `identifier_words` with `additional_block_words` and/or the built-in category `inherit_from`) or
 * LiteLLM's JSON list (`match` phrases split at `|`, `severity` 1-4). Keywords below the entry's
 * `severity_threshold` (else the filter's) are dropped. A file that cannot be used is an
 * `invalid_file` error in strict mode and makes the guardrail not executable in compat mode; a
 * built-in category without the categories directory makes it not executable in both.
 */
export function parseCategories(value: unknown, { ctx, report, threshold }: CategoryContext): ContentFilterCategories | undefined {
  if (isAbsent(value)) return undefined;
  if (!Array.isArray(value)) {
    report.error(`categories must be a list of {category, action, ...}, got ${describeValue(value)}`, ['categories']);
    return undefined;
  }
  const exceptions: string[] = [];
  const conditionals: ConditionalCategory[] = [];
  const keywords = new Map<string, CategoryKeyword>();
  const fileProblem = (file: BundleFile | undefined, at: DocPath, what: string): void => {
    if (file === undefined) {
      report.unsupported(`${what}: the file was not read (the sidecar reads the files a bundle names when it loads the bundle file or db)`, at);
    } else if (!file.ok) {
      if (file.problem === 'outside' || ctx.mode === 'strict') report.report('error', 'invalid_file', `${what}: ${file.message}`, at);
      else report.unsupported(`${what}: ${file.message}`, at);
    }
  };
  value.forEach((entry: unknown, i) => {
    const at = ['categories', i];
    if (!isMapping(entry)) {
      report.error(`categories[${i}] must be a mapping with category and action, got ${describeValue(entry)}`, at);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!CATEGORY_KEYS.has(key)) report.warn(`unknown key '${key}' in categories[${i}] is ignored (known keys: ${[...CATEGORY_KEYS].join(', ')})`, [...at, key]);
    }
    const name = entry.category;
    if (typeof name !== 'string' || name === '') {
      report.warn(`categories[${i}] has no category name, so LiteLLM skips it`, at);
      return;
    }
    if (!isAbsent(entry.enabled) && typeof entry.enabled !== 'boolean') report.error(`categories[${i}].enabled must be true or false, got ${describeValue(entry.enabled)}`, [...at, 'enabled']);
    if (entry.enabled === false) return;
    const action = entry.action;
    if (!isAbsent(action) && action !== 'BLOCK' && action !== 'MASK') {
      report.error(`categories[${i}].action must be BLOCK or MASK (upper case, as LiteLLM requires), got ${describeValue(action)}`, [...at, 'action']);
      return;
    }
    const own = entry.severity_threshold;
    if (!isAbsent(own) && (typeof own !== 'string' || !SEVERITIES.includes(own))) {
      report.error(`categories[${i}].severity_threshold must be high, medium or low, got ${describeValue(own)}`, [...at, 'severity_threshold']);
      return;
    }
    const entryThreshold = typeof own === 'string' && own !== '' ? own : threshold;
    const fileName = entry.category_file;
    let file: BundleFile | undefined;
    let what: string;
    let fileAt: DocPath;
    if (typeof fileName === 'string' && fileName !== '') {
      file = ctx.files?.get(categoryFileKey(fileName));
      what = `categories[${i}] (${name}): category_file '${fileName}'`;
      fileAt = [...at, 'category_file'];
    } else {
      if (!isAbsent(fileName)) report.error(`categories[${i}].category_file must be a path, got ${describeValue(fileName)}`, [...at, 'category_file']);
      file = ctx.files?.get(builtinCategoryKey(name));
      what = `categories[${i}] (${name})`;
      fileAt = [...at, 'category'];
      if (file === undefined) {
        report.unsupported(`${what}: LiteLLM's built-in category '${name}' needs LiteLLM's categories directory (--content-filter-categories DIR)`, fileAt);
        return;
      }
    }
    if (file === undefined || !file.ok) {
      fileProblem(file, fileAt, what);
      return;
    }
    const parsed = parseCategoryFile(file.data, file.shown);
    if (typeof parsed === 'string') {
      if (ctx.mode === 'strict') report.report('error', 'invalid_file', `${what}: ${parsed}`, fileAt);
      else report.unsupported(`${what}: ${parsed}`, fileAt);
      return;
    }
    const categoryAction: ContentFilterAction = action === 'BLOCK' || action === 'MASK' ? action : parsed.defaultAction;
    exceptions.push(...parsed.exceptions);
    const reaches = (severity: string): boolean => (SEVERITY_RANK[severity] ?? 0) >= (SEVERITY_RANK[entryThreshold] ?? 1);
    if (parsed.identifiers.length > 0 && (parsed.inheritFrom !== undefined || parsed.additionalBlockWords.length > 0)) {
      const blockWords: string[] = [];
      if (parsed.inheritFrom !== undefined) {
        const base = parsed.inheritFrom.replace('.json', '').replace('.yaml', '');
        const inherited = ctx.files?.get(builtinCategoryKey(base));
        const inheritWhat = `${what}: inherit_from '${parsed.inheritFrom}'`;
        if (inherited === undefined) {
          report.unsupported(`${inheritWhat} names a LiteLLM built-in category, which needs LiteLLM's categories directory (--content-filter-categories DIR)`, fileAt);
          return;
        }
        if (!inherited.ok) {
          fileProblem(inherited, fileAt, inheritWhat);
          return;
        }
        const base2 = parseCategoryFile(inherited.data, inherited.shown);
        if (typeof base2 === 'string') {
          fileProblem({ ...inherited, ok: false, problem: 'unparseable', message: base2 }, fileAt, inheritWhat);
          return;
        }
        for (const k of base2.keywords) if (reaches(k.severity)) blockWords.push(k.keyword);
      }
      blockWords.push(...parsed.additionalBlockWords);
      conditionals.push(Object.freeze({ category: name, action: categoryAction, identifiers: parsed.identifiers, blockWords: Object.freeze(blockWords) }));
    }
    for (const k of [...parsed.alwaysBlock, ...parsed.keywords]) {
      if (!reaches(k.severity)) continue;
      keywords.set(k.keyword, Object.freeze({ keyword: k.keyword, category: name, severity: k.severity, action: categoryAction }));
    }
  });
  if (report.hasErrors || report.hasUnsupported) return undefined;
  return Object.freeze({ exceptions: Object.freeze(exceptions), conditionals: Object.freeze(conditionals), keywords: Object.freeze([...keywords.values()]) });
}

/** A category file's content, lower-cased where LiteLLM lower-cases it. */
interface CategoryFile {
  readonly defaultAction: ContentFilterAction;
  readonly keywords: readonly { readonly keyword: string; readonly severity: string }[];
  readonly alwaysBlock: readonly { readonly keyword: string; readonly severity: string }[];
  readonly exceptions: readonly string[];
  readonly identifiers: readonly string[];
  readonly additionalBlockWords: readonly string[];
  readonly inheritFrom: string | undefined;
}

// LiteLLM's JSON category severities (1-4) as its YAML ones.
const JSON_SEVERITY: Readonly<Record<number, string>> = { 4: 'high', 3: 'high', 2: 'medium', 1: 'low' };

/** A category file's data as LiteLLM's `_load_category_file` reads it, or what is wrong with it. */
function parseCategoryFile(data: unknown, shown: string): CategoryFile | string {
  if (Array.isArray(data) || (isMapping(data) && shown.toLowerCase().endsWith('.json') && 'match' in data)) {
    // LiteLLM's JSON form: entries {id, match: "a|b|c", tags, severity: 1-4}.
    const entries = Array.isArray(data) ? data : [data];
    const seen = new Set<string>();
    const keywords: { keyword: string; severity: string }[] = [];
    for (const item of entries) {
      if (!isMapping(item)) continue;
      const match = typeof item.match === 'string' ? item.match : '';
      const severity = Number.isInteger(item.severity) ? (JSON_SEVERITY[item.severity as number] ?? 'medium') : 'medium';
      for (const raw of match.split('|')) {
        const phrase = pyLower(raw.trim());
        if (phrase === '' || seen.has(phrase)) continue;
        seen.add(phrase);
        keywords.push({ keyword: phrase, severity });
      }
    }
    return { defaultAction: 'BLOCK', keywords, alwaysBlock: [], exceptions: [], identifiers: [], additionalBlockWords: [], inheritFrom: undefined };
  }
  if (!isMapping(data)) return `a category file must be a mapping (category_name, keywords, ...) or LiteLLM's JSON list, got ${describeValue(data)}`;
  const action = data.default_action ?? 'BLOCK';
  if (action !== 'BLOCK' && action !== 'MASK') return `default_action must be BLOCK or MASK, got ${describeValue(action)}`;
  const keywordList = (key: string, defaultSeverity: string | undefined): { keyword: string; severity: string }[] | string => {
    const v = data[key];
    if (isAbsent(v)) return [];
    if (!Array.isArray(v)) return `${key} must be a list of {keyword, severity}, got ${describeValue(v)}`;
    const out: { keyword: string; severity: string }[] = [];
    for (const [j, item] of v.entries()) {
      const severity = isMapping(item) ? (item.severity ?? defaultSeverity) : undefined;
      if (!isMapping(item) || typeof item.keyword !== 'string' || typeof severity !== 'string') {
        return `${key}[${j}] must be a mapping with a keyword and a severity, got ${describeValue(item)}`;
      }
      if (item.keyword !== '') out.push({ keyword: pyLower(item.keyword), severity });
    }
    return out;
  };
  const words = (key: string): string[] | string => {
    const v = data[key];
    if (isAbsent(v)) return [];
    if (!Array.isArray(v) || !v.every((w) => typeof w === 'string')) return `${key} must be a list of strings, got ${describeValue(v)}`;
    return (v as string[]).map(pyLower).filter((w) => w !== '');
  };
  const keywords = keywordList('keywords', undefined);
  const alwaysBlock = keywordList('always_block_keywords', 'high');
  const exceptions = words('exceptions');
  const identifiers = words('identifier_words');
  const additionalBlockWords = words('additional_block_words');
  const inherit = data.inherit_from;
  for (const v of [keywords, alwaysBlock, exceptions, identifiers, additionalBlockWords]) if (typeof v === 'string') return v;
  if (!isAbsent(inherit) && typeof inherit !== 'string') return `inherit_from must be a category name, got ${describeValue(inherit)}`;
  return {
    defaultAction: action,
    keywords: keywords as { keyword: string; severity: string }[],
    alwaysBlock: alwaysBlock as { keyword: string; severity: string }[],
    exceptions: exceptions as string[],
    identifiers: identifiers as string[],
    additionalBlockWords: additionalBlockWords as string[],
    inheritFrom: typeof inherit === 'string' && inherit !== '' ? inherit : undefined,
  };
}

/** Python's str.lower for the texts the sidecar compares: JavaScript's toLowerCase, which agrees with it on them. */
function pyLower(s: string): string {
  return s.toLowerCase();
}

/** A word character as Python's `re` sees one in a str pattern (the translator's `\w`). */
const WORD_CHAR = /[\p{L}\p{N}_]/u;

function isWordAt(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.codePointAt(i) as number;
  // The low half of a surrogate pair: the character starts one unit earlier.
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i - 1) as number));
  return WORD_CHAR.test(String.fromCodePoint(c));
}

/** Whether Python's `\b` holds between text[i-1] and text[i]. */
function isBoundary(text: string, i: number): boolean {
  return isWordAt(text, i - 1) !== isWordAt(text, i);
}

/** A keyword as LiteLLM searches it: `*` is one optional character (LiteLLM's `.?`), the rest literal. */
function keywordSource(keyword: string): string {
  return keyword
    .split('*')
    .map((part) => part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))
    .join('[^\\n]?');
}

/** Finds a keyword in lower-cased text as LiteLLM does: a phrase with a space anywhere, a single word only between `\b`s. */
interface KeywordFinder {
  /** The index of the first keyword (in list order) found in `lower`, or -1. */
  first(lower: string): number;
}

function createKeywordFinder(keywords: readonly string[]): KeywordFinder {
  const plain = keywords.map((k) => !k.includes('*'));
  // Plain keywords are found by one Aho-Corasick pass, then checked for their boundaries in order.
  const matcher: KeywordMatcher = createKeywordMatcher(keywords.map((k, i) => (plain[i] ? k : '')));
  const wildcards = keywords.map((k, i) => {
    if (plain[i]) return undefined;
    const body = keywordSource(k);
    return new RegExp(k.includes(' ') ? body : `(?<![\\p{L}\\p{N}_])${body}(?![\\p{L}\\p{N}_])`, 'u');
  });
  const wildcardIndexes = wildcards.flatMap((w, i) => (w === undefined ? [] : [i]));
  const found = (lower: string, i: number): boolean => {
    const wildcard = wildcards[i];
    if (wildcard !== undefined) return wildcard.test(lower);
    const k = keywords[i] as string;
    if (k.includes(' ')) return true;
    for (let at = lower.indexOf(k); at >= 0; at = lower.indexOf(k, at + 1)) {
      if (isBoundary(lower, at) && isBoundary(lower, at + k.length)) return true;
    }
    return false;
  };
  return {
    first(lower) {
      const candidates = matcher.allPresent(lower);
      if (wildcardIndexes.length > 0) {
        candidates.push(...wildcardIndexes);
        candidates.sort((a, b) => a - b);
      }
      for (const i of candidates) if (found(lower, i)) return i;
      return -1;
    },
  };
}

/** The category check of one content filter: a verdict (BLOCK), the text with a keyword masked (MASK), or the text unchanged. */
export type CategoryCheck = (text: string) => string | GuardrailVerdict;

/**
 * LiteLLM's category checks for one text, in its order: if any category's exception phrase occurs
 * in the text, none runs. Else the first conditional match (a sentence, split at `.`, `!` or `?`,
 * holding an identifier word and a block word) blocks when its category's action is BLOCK (LiteLLM
 * cannot mask one); then the first category keyword, in LiteLLM's dict order, that occurs (a phrase
 * as a substring, a single word between word boundaries) blocks, or is masked everywhere it occurs
 * as a substring (LiteLLM's `re.sub`). Details name the category and keyword, never the text.
 */
export function createCategoryCheck(categories: ContentFilterCategories, keywordTag: string): CategoryCheck {
  const { exceptions, conditionals, keywords } = categories;
  const exceptionMatcher = createKeywordMatcher(exceptions);
  const keywordFinder = createKeywordFinder(keywords.map((k) => k.keyword));
  const conditionalFinders = conditionals.map((c) => ({ identifiers: createKeywordMatcher(c.identifiers), blockWords: createKeywordFinder(c.blockWords) }));
  const maskers = keywords.map((k) => (k.action === 'MASK' ? new RegExp(keywordSource(k.keyword), 'giu') : undefined));
  return (text) => {
    const lower = pyLower(text);
    if (exceptions.length > 0 && exceptionMatcher.firstPresent(lower) >= 0) return text;
    if (conditionals.length > 0) {
      const sentences = text.split(/[.!?]+/).map((s) => pyLower(s).trim());
      for (const [c, conditional] of conditionals.entries()) {
        const finders = conditionalFinders[c] as (typeof conditionalFinders)[number];
        let hit: string | undefined;
        for (const sentence of sentences) {
          if (sentence === '') continue;
          const identifier = finders.identifiers.firstPresent(sentence);
          if (identifier < 0) continue;
          const block = finders.blockWords.first(sentence);
          if (block >= 0) {
            hit = `${conditional.identifiers[identifier] as string} + ${conditional.blockWords[block] as string}`;
            break;
          }
        }
        if (hit === undefined) continue;
        if (conditional.action === 'BLOCK') return { outcome: 'fail', detail: `Content blocked: ${conditional.category} conditional match '${hit}' detected (severity: high)` };
        break;
      }
    }
    if (keywords.length === 0) return text;
    const k = keywordFinder.first(lower);
    if (k < 0) return text;
    const keyword = keywords[k] as CategoryKeyword;
    const masker = maskers[k];
    if (masker === undefined) {
      return { outcome: 'fail', detail: `Content blocked: ${keyword.category} category keyword '${keyword.keyword}' detected (severity: ${keyword.severity})` };
    }
    masker.lastIndex = 0;
    return text.replace(masker, () => keywordTag);
  };
}
