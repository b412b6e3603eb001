import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { compilePythonFullmatch, compilePythonSearch } from '../../../src/regex/python/python-regex.js';
import { analyzeRegexSafety, checkRegexSafety } from '../../../src/regex/safety/check.js';

const r = String.raw;
const EXPONENTIAL = /nested quantifier|overlapping repetition/;
const POLYNOMIAL = /adjacent overlapping quantifiers/;

// [pattern, what the reason must say]
const DANGEROUS: readonly (readonly [string, RegExp])[] = [
  [r`(a+)+$`, /nested quantifier: a\+ /],
  [r`(a+)+`, EXPONENTIAL],
  [r`(a|a)*b`, EXPONENTIAL],
  [r`(\w+\s?)*$`, /nested quantifier: \(\\w\+\\s\?\)\*/],
  [r`^(\w+\s?)*$`, EXPONENTIAL],
  [r`(.*a){20}`, /overlapping repetition: \(\.\*a\)\{20\}/],
  [r`(a*)*b`, EXPONENTIAL],
  [r`(a|aa)+`, EXPONENTIAL],
  [r`(a|a?)+`, EXPONENTIAL],
  [r`([a-zA-Z]+)*`, EXPONENTIAL],
  [r`(\d+)*x`, EXPONENTIAL],
  [r`(.*,)*x`, EXPONENTIAL],
  [r`^(([a-z])+.)+[A-Z]([a-z])+$`, EXPONENTIAL],
  [r`(x+x+)+y`, EXPONENTIAL],
  [r`(\s*\w*)*$`, EXPONENTIAL],
  [r`(?:a|b|ab)*c`, EXPONENTIAL],
  [r`(\\.|[^"])*"`, EXPONENTIAL], // a backslash is both an escape and an ordinary character
  [r`(?:\S+\s*)+$`, EXPONENTIAL],
  [r`([^@\s]+)+@`, EXPONENTIAL],
  [r`(a{1,3})+b`, EXPONENTIAL],
  [r`(a+){10}b`, EXPONENTIAL], // degree-9 polynomial: a bounded repeat of a variable-width body
  [r`(?:.{0,10}a){10}`, EXPONENTIAL],
  [r`(.*){1,32000}[bc]`, EXPONENTIAL],
  [r`(?:a(?:b?|c?))*x`, EXPONENTIAL], // two empty branches: two paths per iteration
  [r`(?i)(?:ab|[A-B]b)+c`, EXPONENTIAL], // overlapping only once case is folded
  [r`(?=(a+)+b)`, EXPONENTIAL], // a lookahead backtracks on its own
  [r`(?>(a+)+b)`, EXPONENTIAL], // so does an atomic group, before it commits
  [r`\d+\d+\d+x`, /\\d\+, \\d\+, \\d\+ can split the same text in O\(n\^2\) ways/],
  [r`.*.*.*.*=.*`, POLYNOMIAL],
  [r`.*gpt.*4.*`, POLYNOMIAL],
];

const CONDITIONS = [
  'gpt-4.*', 'claude-3.*', '(?i)claude-3-(opus|sonnet).*', '(?i)anthropic/.*', 'gpt-4(o|-turbo)?', 'openai/gpt-4o(-mini)?',
  'azure/.*', r`bedrock/anthropic\.claude-v\d+(:\d+)?`, r`gpt-3\.5-turbo(-\d{4})?`, '(gpt|o)[-0-9a-z.]*', '.*-preview',
  '.*(mini|nano).*', '(?i).*llama.*', 'model-[0-9]+', '(?:openai|azure)/gpt-4o?.*', '*', 'gpt-4(',
];

const CONTENT_FILTERS = [
  r`[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`,
  r`\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b`,
  r`\w+(?:[-.]\w+)*@\w+(?:\.\w+)+`,
  r`\b(?:\+?1[-.\s]?)?\(?\d{3}\)?[-.\s]?\d{3}[-.\s]?\d{4}\b`,
  r`\+?\d{1,3}[-.\s]?\(?\d{1,4}\)?[-.\s]?\d{1,4}[-.\s]?\d{1,9}`,
  r`\b(?:\d[ -]*?){13,16}\b`,
  r`\b4[0-9]{12}(?:[0-9]{3})?\b`,
  r`\b(?:4\d{3}|5[1-5]\d{2}|6011|3[47]\d{2})[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b`,
  r`\b[A-Z]{2}\d{2}[A-Z0-9]{1,30}\b`,
  r`\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b`,
  r`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`,
  r`https?://[^\s/$.?#].[^\s]*`,
  r`\bhttps?://(?:www\.)?[-a-zA-Z0-9@:%._\+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b(?:[-a-zA-Z0-9()@:%_\+.~#?&/=]*)`,
  r`\b\d{3}-\d{2}-\d{4}\b`, r`AKIA[0-9A-Z]{16}`, r`sk-[A-Za-z0-9]{20,}`, r`-----BEGIN [A-Z ]*PRIVATE KEY-----`,
  r`(?i)\b(password|passwd|pwd)\s*[:=]\s*\S+`,
  r`\b(?:(?:25[0-5]|2[0-4]\d|[01]?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d?\d)\b`,
  r`\$\d+(?:,\d{3})*(?:\.\d{2})?`, r`(?i)ignore (all )?(previous|prior) instructions`, r`(?i)\b(?:kill|bomb)s?\b`,
  r`^(?=.*[A-Z])(?=.*\d).{8,}$`, r`"(?:[^"\\]|\\.)*"`, r`[A-Za-z]+( [A-Za-z]+)*`, r`([a-z]+-)*[a-z]+`, r`(?:\s*,\s*\w+)*`,
];

// Safe as V8 runs them: CPython's parser turns the alternation into one class, and so does our emitter.
const MERGED_BY_THE_PARSER = [r`(\w|\d)+!`, r`(?i)(a|A)+b`];
// The usual rewrites of the dangerous forms: atomic groups and possessive quantifiers (Python 3.11).
const REWRITTEN = [r`(?>\w+)*x`, r`(?:\w++\s?)*$`, r`(?:(?>a+)b?)*c`, r`(\w+\.)*\w+@`, r`(\w)\1+`];

/** Every `condition: {model: ...}` pattern in the YAML files under a directory. */
function conditionPatterns(dir: string): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const model = k === 'condition' && x !== null && typeof x === 'object' ? (x as { model?: unknown }).model : undefined;
        if (typeof model === 'string') out.push(model);
        else if (Array.isArray(model)) out.push(...model.filter((m): m is string => typeof m === 'string'));
        visit(x);
      }
    }
  };
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    // Every document: some fixtures (test/fixtures/kube/workloads.yaml) hold several.
    if (entry.endsWith('.yaml') || entry.endsWith('.yml')) for (const doc of parseAllDocuments(readFileSync(join(dir, entry), 'utf8'))) visit(doc.toJS());
  }
  return out;
}

describe('checkRegexSafety', () => {
  it.each(DANGEROUS)('flags %s', (pattern, reason) => {
    expect(checkRegexSafety(pattern)).toMatch(reason);
  });

  it.each([...CONDITIONS, ...CONTENT_FILTERS])('accepts the ordinary pattern %s', (pattern) => {
    expect(checkRegexSafety(pattern)).toBeUndefined();
  });

  it.each([...MERGED_BY_THE_PARSER, ...REWRITTEN])('accepts %s, which cannot backtrack catastrophically', (pattern) => {
    expect(checkRegexSafety(pattern)).toBeUndefined();
  });

  it('accepts one loop next to another (degree 1), flags three in a row (degree 2)', () => {
    expect(checkRegexSafety(r`\d+\d+x`)).toBeUndefined();
    expect(checkRegexSafety(r`\d+\d+\d+x`)).toMatch(POLYNOMIAL);
    expect(checkRegexSafety(r`(.*a){3}`)).toMatch(POLYNOMIAL);
  });

  it('counts overlapping pairs of loops anywhere along the pattern, not only next to each other', () => {
    // Each run of digits splits its own way and the choices multiply: cubic on a failing fullmatch
    // (9 s for a 4096-character model before the degree counted both pairs).
    expect(checkRegexSafety(r`\d+\d+x\d+\d+`)).toMatch(/\\d\+, \\d\+, and later \\d\+, \\d\+ can split the same text in O\(n\^2\) ways/);
    expect(checkRegexSafety(r`.*-.*/.*-.*`)).toMatch(POLYNOMIAL);
    expect(checkRegexSafety(r`\d+\d+x\w+`)).toBeUndefined(); // one pair: degree 1
    expect(checkRegexSafety(r`\w+@\w+\.\w+`)).toBeUndefined(); // no pair: @ and . separate the loops
  });

  it('counts the iterations of a bounded repeat whose iterations can split a text in several ways', () => {
    const COUNTED = /repeated ambiguous part/;
    // Mandatory iterations that may match nothing: C(24, k) ways (3.6 s for a 49-character model).
    expect(checkRegexSafety(r`(?:[a-z0-9]?){24}[a-z0-9]{24}`)).toMatch(/\(\?:\[a-z0-9\]\?\)\{24\} can split the same text among its 24 iterations/);
    expect(checkRegexSafety(r`(?:x?){4}y`)).toMatch(COUNTED);
    expect(checkRegexSafety(r`(?:x?){8,}y`)).toMatch(COUNTED);
    // A body that matches one text two ways: 2^count ways.
    expect(checkRegexSafety(r`(?:ab|ab){16}`)).toMatch(COUNTED);
    expect(checkRegexSafety(r`(?:a[ab]|[ab]b){8}x`)).toMatch(COUNTED); // "ab" is either branch
    // Up to 3 iterations are expanded exactly, and optional iterations stop when they match nothing.
    expect(checkRegexSafety(r`(?:x?){3}y`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:x?){0,24}y`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:x?){2,24}y`)).toBeUndefined();
    // Ordinary counted repeats: one way per iteration.
    expect(checkRegexSafety(r`(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:\d{1,3}\.){3}\d{1,3}`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:[-.]?\d){8,15}`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:-\d+)?(?:,\d{3}){4}`)).toBeUndefined();
  });

  it('says a fullmatch is linear only without overlapping loops, lookarounds and backreferences', () => {
    for (const p of ['gpt-4.*', '.*-preview', '(?i)claude-3-(opus|sonnet).*', r`bedrock/anthropic\.claude-v\d+(:\d+)?`, 'azure/.*']) {
      expect(analyzeRegexSafety(p), p).toEqual({ unsafe: undefined, linear: true });
    }
    for (const p of ['.*(mini|nano).*', r`\d+\d+x`, '(?!.*-preview)gpt-4.*', r`(\w)\1+`, '(?>a+)b']) {
      expect(analyzeRegexSafety(p), p).toEqual({ unsafe: undefined, linear: false });
    }
    expect(analyzeRegexSafety('(a+)+$')).toEqual({ unsafe: expect.stringMatching(EXPONENTIAL), linear: false });
    expect(analyzeRegexSafety('gpt-4(')).toEqual({ unsafe: undefined, linear: false });
  });

  it('accepts loops that cannot share a character', () => {
    expect(checkRegexSafety(r`(\d+\s)+x`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:[^"\\]|\\.)*`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:ab|[A-B]b)+c`)).toBeUndefined(); // case-sensitive: a is not in [A-B]
    expect(checkRegexSafety(r`(?a)(?:\d\d|[٠-٩]{2})+x`)).toBeUndefined(); // ASCII \d excludes Arabic-Indic digits
    expect(checkRegexSafety(r`(?:\d\d|[٠-٩]{2})+x`)).toMatch(EXPONENTIAL); // Unicode \d includes them
  });

  it('knows that a word boundary stops a loop from splitting a word, and that \\B does not', () => {
    expect(checkRegexSafety(r`(?:\b\w+\b\s*){3,}`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:\w+\b)+!`)).toBeUndefined();
    expect(checkRegexSafety(r`(?:\w+\B)+!`)).toMatch(EXPONENTIAL);
    expect(checkRegexSafety(r`(?:\w+\s*)+!`)).toMatch(EXPONENTIAL);
    expect(checkRegexSafety(r`(?:\b.+\b)+!`)).toMatch(EXPONENTIAL); // "a a a a": .+ may end at any boundary
  });

  it('gives no reason for patterns Python rejects (the translator reports those)', () => {
    expect(checkRegexSafety('(a+')).toBeUndefined();
    expect(checkRegexSafety('*')).toBeUndefined();
  });

  it('reports a pattern too large to analyse instead of passing it', () => {
    expect(checkRegexSafety('a'.repeat(25_000))).toMatch(/too large or too complex to check/);
  });

  it('accepts every condition pattern in the test fixtures and the example bundle', () => {
    const patterns = [...conditionPatterns('test/fixtures'), ...conditionPatterns('examples')];
    expect(patterns.length).toBeGreaterThan(2);
    for (const p of patterns) expect(checkRegexSafety(p), p).toBeUndefined();
  });

  it('flags only a backreference-doubled .* among the Python regex golden cases', () => {
    const { cases } = JSON.parse(readFileSync('test/fixtures/python-regex/cases.json', 'utf8')) as { cases: { pattern: string }[] };
    const flagged = cases.map((c) => c.pattern).filter((p) => checkRegexSafety(p) !== undefined);
    expect(flagged).toEqual([r`(?=[ab]b)(.*){1,2}\1{1,2}`]);
  });

  it('only judges patterns that translate (the dangerous ones compile for both fullmatch and search)', () => {
    for (const [p] of DANGEROUS) {
      expect(compilePythonFullmatch(p).ok, p).toBe(true);
      expect(compilePythonSearch(p).ok, p).toBe(true);
    }
  });
});
