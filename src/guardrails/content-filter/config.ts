import { describeValue } from '../../model/describe.js';
import type { GuardrailSpec } from '../../model/policy.js';
import { PREBUILT_PATTERNS } from './prebuilt-patterns.js';
import { compileContentPattern } from './regex.js';
import type { GuardrailCompileContext } from '../kind.js';
import { createParamReporter, isAbsent, isMapping, warnUnknownKeys, type ParamReporter } from '../params.js';

/** What the content filter does on a match (LiteLLM's ContentFilterAction; case-sensitive). */
export type ContentFilterAction = 'BLOCK' | 'MASK';

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
  readonly patterns: readonly FilterPattern[];
  readonly keywords: readonly FilterKeyword[];
  /** What a MASK keyword puts in place of each occurrence. */
  readonly keywordTag: string;
}

type CompiledEntry = Pick<FilterPattern, 'name' | 'regex' | 'accept' | 'requires' | 'watched' | 'source'>;

const DEFAULT_PATTERN_FORMAT = '[{pattern_name}_REDACTED]';
const DEFAULT_KEYWORD_TAG = '[KEYWORD_REDACTED]';
const OWN_KEYS = new Set(['patterns', 'blocked_words', 'pattern_redaction_format', 'keyword_redaction_tag', 'categories', 'severity_threshold', 'blocked_words_file', 'image_model', 'experimental_use_latest_role_message_only']);
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
  const patterns = listAt(p.patterns, 'patterns', report).flatMap((entry, i) => parsePattern(entry, i, patternFormat, ctx, report));
  const keywords = parseKeywords(listAt(p.blocked_words, 'blocked_words', report), report);
  if (patterns.length === 0 && keywords.length === 0 && !report.hasErrors) {
    report.warn('no patterns and no blocked_words: the guardrail passes every text unchanged', []);
  }
  if (report.hasErrors || report.hasUnsupported || keywordTag === undefined) return undefined;
  return Object.freeze({ patterns: Object.freeze(patterns), keywords: Object.freeze(keywords), keywordTag });
}

// LiteLLM content filter settings the sidecar does not run: when set, each makes the guardrail not
// executable (a not_executable warning naming it; its pipeline steps end in ERROR).
const UNSUPPORTED: readonly (readonly [key: string, isSet: (v: unknown) => boolean, why: string])[] = [
  ['categories', hasCategories, "LiteLLM's keyword categories are not supported yet"],
  ['blocked_words_file', (v) => !isAbsent(v), 'is not supported yet'],
  ['image_model', (v) => !isAbsent(v), 'the sidecar checks text only and describes no images'],
  ['experimental_use_latest_role_message_only', (v) => v === true, 'the sidecar checks every message'],
];

function hasCategories(v: unknown): boolean {
  return !isAbsent(v) && !(Array.isArray(v) && v.length === 0);
}

function reportUnsupported(p: Readonly<Record<string, unknown>>, report: ParamReporter): void {
  for (const [key, isSet, why] of UNSUPPORTED) if (isSet(p[key])) report.unsupported(`${key}: ${why}`, [key]);
  if (!isAbsent(p.severity_threshold) && !hasCategories(p.categories)) {
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
  const { name, regex, accept, requires, watched, source } = compiled;
  return [Object.freeze({ name, action, regex, watched, source, accept, requires, tag: format(name.toUpperCase()), blockDetail: `Content blocked: ${name} pattern detected` })];
}

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
  const result = compileContentPattern(entry.pattern);
  if (!result.ok) throw new Error(`prebuilt pattern ${entry.name} does not compile: ${result.message}`);
  return { name: entry.name, regex: result.regex, accept: entry.accept, requires: entry.requires, watched: false, source: entry.name };
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
  return { name: shown, regex: result.regex, accept: undefined, requires: undefined, watched: true, source: pattern };
}

function parseKeywords(entries: readonly unknown[], report: ParamReporter): FilterKeyword[] {
  const byKeyword = new Map<string, FilterKeyword>();
  entries.forEach((entry, i) => {
    const at = ['blocked_words', i];
    if (!isMapping(entry)) {
      report.error(`blocked_words[${i}] must be a mapping with keyword and action, got ${describeValue(entry)}`, at);
      return;
    }
    warnUnknownKeys(entry, WORD_KEYS, at, report);
    const action = parseAction(entry.action, [...at, 'action'], `blocked_words[${i}]`, report);
    const { keyword, description } = entry;
    if (!isAbsent(description) && typeof description !== 'string') report.error(`description must be a string, got ${describeValue(description)}`, [...at, 'description']);
    if (typeof keyword !== 'string' || keyword === '') {
      report.error(`blocked_words[${i}] needs a keyword (a non-empty string; an empty one would match every text), got ${show(keyword)}`, [...at, 'keyword']);
      return;
    }
    if (keyword.includes('*')) report.warn(`keyword '${keyword}' contains '*', which the sidecar matches literally (newer LiteLLM versions treat it as a wildcard)`, [...at, 'keyword']);
    if (action === undefined) return;
    const lower = keyword.toLowerCase();
    if (byKeyword.has(lower)) report.warn(`keyword '${lower}' is listed more than once; as in LiteLLM the last entry's action applies`, [...at, 'keyword']);
    const suffix = typeof description === 'string' && description !== '' ? ` (${description})` : '';
    byKeyword.set(lower, Object.freeze({ keyword: lower, action, blockDetail: `Content blocked: keyword '${lower}' detected${suffix}` }));
  });
  return [...byKeyword.values()];
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
