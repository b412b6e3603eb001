import { describeValue } from '../../model/describe.js';
import type { GuardrailSpec } from '../../model/policy.js';
import { wordsFileKey } from '../../model/bundle.js';
import type { ContentFilterAction } from './action.js';
import { parseCategories, type ContentFilterCategories } from './categories.js';
import { createContextMatcher, type ContextMatcher } from './context.js';
import { PREBUILT_PATTERNS } from './prebuilt-patterns.js';
import { compileContentPattern } from './regex.js';
import type { GuardrailCompileContext } from '../kind.js';
import { createParamReporter, isAbsent, isMapping, warnUnknownKeys, type ParamReporter } from '../params.js';

/** A compiled pattern entry, in `patterns:` order. */
export interface FilterPattern {
  /** pattern_name (prebuilt) or name (regex, default custom_regex): config text, never prompt text. */
  readonly name: string;
  readonly action: ContentFilterAction;
  /** Global (`g`) search regex; callers reset lastIndex. */
  readonly regex: RegExp;
  /**
   * Whether its searches run under the watchdog: custom patterns (a search is quadratic or worse in
   * the text even when the safety check accepts the pattern). Prebuilt ones are written to search
   * in linear time, which their tests verify, and run directly.
   */
  readonly watched: boolean;
  /** The pattern as written: custom patterns' text (for the log), prebuilt ones' name. */
  readonly source: string;
  /** See PrebuiltPattern.accept. */
  readonly accept: ((candidate: string) => number) | undefined;
  /** See PrebuiltPattern.requires. */
  readonly requires: string | undefined;
  /** See PrebuiltPattern.context: a match counts only near a keyword. */
  readonly context: ContextMatcher | undefined;
  /** What a MASK puts in place of each match. */
  readonly tag: string;
  /** The fail detail of a BLOCK. */
  readonly blockDetail: string;
}

/** A blocked word: lower-cased, in first-occurrence order; a later duplicate's action and description win, as in LiteLLM's dict. */
export interface FilterKeyword {
  readonly keyword: string;
  readonly action: ContentFilterAction;
  readonly blockDetail: string;
}

/** The validated settings of one litellm_content_filter guardrail. Frozen. */
export interface ContentFilterConfig {
  /** LiteLLM's categories (checked before the patterns), if any. */
  readonly categories: ContentFilterCategories | undefined;
  readonly patterns: readonly FilterPattern[];
  readonly keywords: readonly FilterKeyword[];
  /** What a MASK keyword puts in place of each occurrence. */
  readonly keywordTag: string;
}

type CompiledEntry = Pick<FilterPattern, 'name' | 'regex' | 'accept' | 'requires' | 'context' | 'watched' | 'source'>;

const DEFAULT_PATTERN_FORMAT = '[{pattern_name}_REDACTED]';
const DEFAULT_KEYWORD_TAG = '[KEYWORD_REDACTED]';
const OWN_KEYS = new Set([
  'patterns',
  'blocked_words',
  'blocked_words_file',
  'categories',
  'severity_threshold',
  'pattern_redaction_format',
  'keyword_redaction_tag',
  'image_model',
  'experimental_use_latest_role_message_only',
  'competitor_intent_config',
  // LiteLLM's UI records which template and id a guardrail came from: labels, no effect on checks.
  'policy_template',
  'guardrail_id',
]);
const PATTERN_KEYS = new Set(['pattern_type', 'pattern_name', 'pattern', 'name', 'action']);
const WORD_KEYS = new Set(['keyword', 'action', 'description']);

/**
 * Validates `litellm_params` of a `litellm_content_filter` guardrail the way LiteLLM's
 * ContentFilterGuardrail reads them, reporting every problem (LiteLLM features the sidecar does
 * not run are errors naming the key). Undefined when any error was reported.
 */
export function parseContentFilterConfig(spec: GuardrailSpec, ctx: GuardrailCompileContext): ContentFilterConfig | undefined {
  const report = createParamReporter(spec, ctx);
  const p = spec.params;
  warnUnknownKeys(p, OWN_KEYS, [], report);
  reportUnsupported(p, report);
  const patternFormat = parsePatternFormat(p.pattern_redaction_format, report);
  const keywordTag = templateText(p.keyword_redaction_tag, 'keyword_redaction_tag', DEFAULT_KEYWORD_TAG, report);
  const threshold = parseThreshold(p.severity_threshold, report);
  const categories = parseCategories(p.categories, { ctx, report, threshold });
  const patterns = listAt(p.patterns, 'patterns', report).flatMap((entry, i) => parsePattern(entry, i, patternFormat, ctx, report));
  const byKeyword = new Map<string, FilterKeyword>();
  parseKeywords(listAt(p.blocked_words, 'blocked_words', report), byKeyword, report);
  parseWordsFile(p.blocked_words_file, byKeyword, ctx, report);
  const keywords = [...byKeyword.values()];
  const hasCategoryChecks = categories !== undefined && (categories.keywords.length > 0 || categories.conditionals.length > 0);
  if (patterns.length === 0 && keywords.length === 0 && !hasCategoryChecks && !report.hasErrors && !report.hasUnsupported) {
    report.warn('no patterns, blocked_words or categories: the guardrail passes every text unchanged', []);
  }
  if (report.hasErrors || report.hasUnsupported || keywordTag === undefined) return undefined;
  return Object.freeze({ categories, patterns: Object.freeze(patterns), keywords: Object.freeze(keywords), keywordTag });
}

/** The filter's severity_threshold: high, medium (default) or low. */
function parseThreshold(value: unknown, report: ParamReporter): string {
  if (isAbsent(value)) return 'medium';
  if (value === 'high' || value === 'medium' || value === 'low') return value;
  report.error(`severity_threshold must be high, medium or low, got ${show(value)}`, ['severity_threshold']);
  return 'medium';
}

/**
 * `blocked_words_file`: a YAML file with a `blocked_words:` list, as the source read it. Its words
 * come after the inline ones (a keyword in both takes the file's action, as in LiteLLM's dict);
 * entries without a keyword or action are skipped with a warning, as LiteLLM skips them.
 */
function parseWordsFile(value: unknown, byKeyword: Map<string, FilterKeyword>, ctx: GuardrailCompileContext, report: ParamReporter): void {
  if (isAbsent(value)) return;
  const at = ['blocked_words_file'];
  if (typeof value !== 'string' || value === '') {
    report.error(`blocked_words_file must be a path, got ${show(value)}`, at);
    return;
  }
  const file = ctx.files?.get(wordsFileKey(value));
  const what = `blocked_words_file '${value}'`;
  if (file === undefined) {
    report.unsupported(`${what}: the file was not read (the sidecar reads the files a bundle names when it loads the bundle file or db)`, at);
    return;
  }
  if (!file.ok) {
    if (file.problem === 'outside' || ctx.mode === 'strict') report.report('error', 'invalid_file', `${what}: ${file.message}`, at);
    else report.unsupported(`${what}: ${file.message}`, at);
    return;
  }
  const words = isMapping(file.data) ? file.data.blocked_words : undefined;
  if (!Array.isArray(words)) {
    report.report('error', 'invalid_file', `${what} must hold a mapping with a blocked_words: list (LiteLLM refuses it otherwise)`, at);
    return;
  }
  const usable = words.filter((w: unknown, i) => {
    if (isMapping(w) && typeof w.keyword === 'string' && !isAbsent(w.action)) return true;
    report.warn(`${what}: entry ${i} has no keyword or action, so LiteLLM skips it`, at);
    return false;
  });
  parseKeywords(usable, byKeyword, report, () => at, (i) => `${what}: blocked_words[${i}]`);
}

// LiteLLM content filter settings the sidecar does not run: when set, each makes the guardrail not
// executable (a not_executable warning naming it; its pipeline steps end in ERROR).
const UNSUPPORTED: readonly (readonly [key: string, isSet: (v: unknown) => boolean, why: string])[] = [
  ['image_model', (v) => !isAbsent(v), 'the sidecar checks text only and describes no images'],
  ['experimental_use_latest_role_message_only', (v) => v === true, 'the sidecar checks every message'],
  ['competitor_intent_config', (v) => !isAbsent(v), "LiteLLM's competitor intent checker is not supported by the sidecar"],
];

function reportUnsupported(p: Readonly<Record<string, unknown>>, report: ParamReporter): void {
  for (const [key, isSet, why] of UNSUPPORTED) if (isSet(p[key])) report.unsupported(`${key}: ${why}`, [key]);
  const hasCategories = !isAbsent(p.categories) && !(Array.isArray(p.categories) && p.categories.length === 0);
  if (!isAbsent(p.severity_threshold) && !hasCategories) {
    report.warn('severity_threshold applies only to categories, which are not set: it has no effect', ['severity_threshold']);
  }
}

/** The entries of a list setting; absent is empty; anything else is reported. */
function listAt(value: unknown, key: string, report: ParamReporter): readonly unknown[] {
  if (isAbsent(value)) return [];
  if (Array.isArray(value)) return value;
  report.error(`${key} must be a list, got ${describeValue(value)}`, [key]);
  return [];
}

function parsePattern(entry: unknown, i: number, format: ((name: string) => string) | undefined, ctx: GuardrailCompileContext, report: ParamReporter): FilterPattern[] {
  const at = ['patterns', i];
  if (!isMapping(entry)) {
    report.error(`patterns[${i}] must be a mapping with pattern_type and action, got ${describeValue(entry)}`, at);
    return [];
  }
  warnUnknownKeys(entry, PATTERN_KEYS, at, report);
  const action = parseAction(entry.action, [...at, 'action'], `patterns[${i}]`, report);
  let compiled: CompiledEntry | undefined;
  if (entry.pattern_type === 'prebuilt') compiled = prebuilt(entry.pattern_name, at, report);
  else if (entry.pattern_type === 'regex') compiled = custom(entry, at, ctx, report);
  else report.error(`patterns[${i}].pattern_type must be 'prebuilt' or 'regex', got ${show(entry.pattern_type)}`, [...at, 'pattern_type']);
  if (compiled === undefined || action === undefined || format === undefined) return [];
  const { name, regex, accept, requires, context, watched, source } = compiled;
  return [Object.freeze({ name, action, regex, watched, source, accept, requires, context, tag: format(name.toUpperCase()), blockDetail: `Content blocked: ${name} pattern detected` })];
}

/**
 * Each prebuilt pattern is translated once per process (the long term lists take tens of
 * milliseconds) and its RegExp shared by every guardrail using it: every search resets
 * `lastIndex` and runs to its end synchronously, so sharing is safe.
 */
const COMPILED_PREBUILTS = new Map<string, { readonly regex: RegExp; readonly context: ContextMatcher | undefined }>();

function prebuilt(value: unknown, at: readonly (string | number)[], report: ParamReporter): CompiledEntry | undefined {
  const known = [...PREBUILT_PATTERNS.keys()].join(', ');
  if (typeof value !== 'string' || value === '') {
    report.error(`pattern_name is required for a prebuilt pattern (one of: ${known}), got ${show(value)}`, [...at, 'pattern_name']);
    return undefined;
  }
  const entry = PREBUILT_PATTERNS.get(value);
  if (entry === undefined) {
    report.error(`unknown prebuilt pattern '${value}'; the sidecar knows: ${known} (write others as pattern_type: regex)`, [...at, 'pattern_name']);
    return undefined;
  }
  let compiled = COMPILED_PREBUILTS.get(entry.name);
  if (compiled === undefined) {
    const result = compileContentPattern(entry.pattern);
    if (!result.ok) throw new Error(`prebuilt pattern ${entry.name} does not compile: ${result.message}`);
    const context = entry.context === undefined ? undefined : createContextMatcher(entry.context.keyword, entry.pattern, entry.accept, entry.context.wordNumbers === true);
    compiled = { regex: result.regex, context };
    COMPILED_PREBUILTS.set(entry.name, compiled);
  }
  return { name: entry.name, regex: compiled.regex, accept: entry.accept, requires: entry.requires, context: compiled.context, watched: false, source: entry.name };
}

function custom(entry: Record<string, unknown>, at: readonly (string | number)[], ctx: GuardrailCompileContext, report: ParamReporter): CompiledEntry | undefined {
  const { pattern, name } = entry;
  if (!isAbsent(name) && (typeof name !== 'string' || name === '')) report.error(`name must be a non-empty string, got ${show(name)}`, [...at, 'name']);
  if (typeof pattern !== 'string' || pattern === '') {
    report.error(`pattern is required for a regex pattern (a Python regular expression), got ${show(pattern)}`, [...at, 'pattern']);
    return undefined;
  }
  // LiteLLM compiles custom patterns with re.IGNORECASE; a leading (?i) is the same flag.
  const result = compileContentPattern(
    `(?i)${pattern}`,
    pattern,
    ctx.mode,
    (severity, rule, message) => report.report(severity, rule, message, [...at, 'pattern']),
    (message) => report.unsupported(message, [...at, 'pattern']),
  );
  if (!result.ok) return undefined;
  const shown = typeof name === 'string' && name !== '' ? name : 'custom_regex';
  return { name: shown, regex: result.regex, accept: undefined, requires: undefined, context: undefined, watched: true, source: pattern };
}

/**
 * Blocked words into `byKeyword` (first position, last entry's action, as LiteLLM's dict). Inline
 * entries are located at `blocked_words[i]`; a file's entries (`pathOf`, `label`) at the file setting.
 */
function parseKeywords(
  entries: readonly unknown[],
  byKeyword: Map<string, FilterKeyword>,
  report: ParamReporter,
  pathOf: (i: number) => readonly (string | number)[] = (i) => ['blocked_words', i],
  label: (i: number) => string = (i) => `blocked_words[${i}]`,
): void {
  const inline = pathOf(0)[0] === 'blocked_words';
  entries.forEach((entry, i) => {
    const at = pathOf(i);
    const sub = (key: string): readonly (string | number)[] => (inline ? [...at, key] : at);
    if (!isMapping(entry)) {
      report.error(`${label(i)} must be a mapping with keyword and action, got ${describeValue(entry)}`, at);
      return;
    }
    if (inline) warnUnknownKeys(entry, WORD_KEYS, at, report);
    const action = parseAction(entry.action, sub('action'), label(i), report);
    const { keyword, description } = entry;
    if (!isAbsent(description) && typeof description !== 'string') report.error(`${label(i)}: description must be a string, got ${describeValue(description)}`, sub('description'));
    if (typeof keyword !== 'string' || keyword === '') {
      report.error(`${label(i)} needs a keyword (a non-empty string; an empty one would match every text), got ${show(keyword)}`, sub('keyword'));
      return;
    }
    if (keyword.includes('*')) report.warn(`keyword '${keyword}' contains '*', which the sidecar matches literally (newer LiteLLM versions treat it as a wildcard)`, sub('keyword'));
    if (action === undefined) return;
    const lower = keyword.toLowerCase();
    if (byKeyword.has(lower)) report.warn(`keyword '${lower}' is listed more than once; as in LiteLLM the last entry's action applies`, sub('keyword'));
    const suffix = typeof description === 'string' && description !== '' ? ` (${description})` : '';
    byKeyword.set(lower, Object.freeze({ keyword: lower, action, blockDetail: `Content blocked: keyword '${lower}' detected${suffix}` }));
  });
}

function parseAction(value: unknown, at: readonly (string | number)[], where: string, report: ParamReporter): ContentFilterAction | undefined {
  if (value === 'BLOCK' || value === 'MASK') return value;
  report.error(`${where}.action must be BLOCK or MASK (upper case, as LiteLLM requires), got ${show(value)}`, at);
  return undefined;
}

/** A redaction setting's text: LiteLLM falls back to its default for a missing or empty value. */
function templateText(value: unknown, key: string, fallback: string, report: ParamReporter): string | undefined {
  const text = isAbsent(value) || value === '' ? fallback : value;
  if (typeof text !== 'string') {
    report.error(`${key} must be a string, got ${describeValue(text)}`, [key]);
    return undefined;
  }
  // Older LiteLLM versions pass tags to re.sub, which reads a backslash as an escape.
  if (text.includes('\\')) {
    report.error(`${key} must not contain a backslash (LiteLLM may read it as a regex replacement escape)`, [key]);
    return undefined;
  }
  return text;
}

/** pattern_redaction_format: Python's str.format with only {pattern_name} (and {{ }}) supported. */
function parsePatternFormat(value: unknown, report: ParamReporter): ((name: string) => string) | undefined {
  const key = 'pattern_redaction_format';
  const text = templateText(value, key, DEFAULT_PATTERN_FORMAT, report);
  if (text === undefined) return undefined;
  const parts = splitFormat(text);
  if (parts === undefined) {
    report.error(`${key} may use only the {pattern_name} placeholder (write {{ and }} for literal braces), got ${JSON.stringify(text)}`, [key]);
    return undefined;
  }
  return (name) => parts.map((part) => part ?? name).join('');
}

/** Python format string -> literal parts, with undefined where {pattern_name} goes; undefined if it uses anything else. */
function splitFormat(text: string): (string | undefined)[] | undefined {
  const parts: (string | undefined)[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ((c === '{' || c === '}') && text[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{' && text.startsWith('{pattern_name}', i)) {
      parts.push(literal, undefined);
      literal = '';
      i += '{pattern_name}'.length - 1;
    } else if (c === '{' || c === '}') return undefined;
    else literal += c;
  }
  parts.push(literal);
  return parts;
}

// Config values in messages: strings quoted, other types named.
function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : describeValue(v);
}
