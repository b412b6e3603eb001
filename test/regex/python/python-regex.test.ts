import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePythonFullmatch, compilePythonSearch } from '../../../src/regex/python/python-regex.js';

interface Case {
  readonly pattern: string;
  readonly error?: string;
  readonly exception?: string;
  readonly unsupported?: string;
  readonly subjects?: readonly { readonly s: string; readonly match: boolean }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/python-regex/cases.json', import.meta.url), 'utf8'),
) as { readonly python: string; readonly cases: readonly Case[] };

const show = (s: string): string => JSON.stringify(s);

function fullmatcher(pattern: string): (s: string) => boolean {
  const compiled = compilePythonFullmatch(pattern);
  if (!compiled.ok) throw new Error(`${show(pattern)} did not compile: ${compiled.reason}: ${compiled.message}`);
  return compiled.fullmatch;
}

describe(`compilePythonFullmatch agrees with CPython ${fixture.python} (scripts/python-regex-cases.py)`, () => {
  // Python raising something other than re.error (OverflowError, ValueError) escapes LiteLLM's handler.
  const refused = fixture.cases.filter((c) => c.unsupported !== undefined || c.exception !== undefined);
  const invalid = fixture.cases.filter((c) => c.error !== undefined && !refused.includes(c));
  const valid = fixture.cases.filter((c) => c.error === undefined && !refused.includes(c));

  it.each(valid.map((c) => [show(c.pattern), c] as const))('%s fullmatches the same subjects', (_, c) => {
    const fullmatch = fullmatcher(c.pattern);
    const got = (c.subjects ?? []).map(({ s }) => ({ s, match: fullmatch(s) }));
    expect(got).toEqual(c.subjects ?? []);
  });

  it.each(invalid.map((c) => [show(c.pattern), c] as const))('%s is invalid, as re.compile raises', (_, c) => {
    expect(compilePythonFullmatch(c.pattern)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it.each(refused.map((c) => [show(c.pattern), c] as const))('%s is refused as unsupported', (_, c) => {
    expect(c.error).toBeUndefined();
    expect(compilePythonFullmatch(c.pattern)).toMatchObject({ ok: false, reason: 'unsupported' });
  });
});

describe('compiling runs no pattern unbounded', () => {
  // Each new regex is run on '' and '\u0100' so V8 compiles it now; these backtrack for seconds there.
  it.each([String.raw`(?:[-a]?|(\dbx*)?|(?:\d*1{6,})*1*[a-z]{6}){24,28}\w*(?:\w*-{2}a*)?-`, '(?:a?|(b)?){26}(?!)'])('%s', (pattern) => {
    const started = performance.now();
    const fullmatch = compilePythonFullmatch(pattern);
    const search = compilePythonSearch(pattern);
    expect(performance.now() - started).toBeLessThan(1_000); // 3.3 s and 9.5 s unbounded
    expect(fullmatch.ok && search.ok).toBe(true);
  });
});

describe('compilePythonFullmatch', () => {
  it('anchors the whole subject, so a prefix match is not a match', () => {
    const fullmatch = fullmatcher('gpt-4');
    expect(fullmatch('gpt-4')).toBe(true);
    expect(fullmatch('gpt-4o')).toBe(false);
    expect(fullmatch('xgpt-4')).toBe(false);
  });

  it('lets $ match before one trailing newline but never lets . match a newline', () => {
    expect(fullmatcher('gpt-4$')('gpt-4\n')).toBe(false);
    expect(fullmatcher('gpt-4$\n')('gpt-4\n')).toBe(true);
    expect(fullmatcher('gpt.*')('gpt-4\n')).toBe(false);
    expect(fullmatcher('gpt.*')('gpt-4\r')).toBe(true);
  });

  it('folds case the way CPython does, including the Kelvin sign and long s', () => {
    const fullmatch = fullmatcher('(?i)sk');
    expect(fullmatch('SK')).toBe(true);
    expect(fullmatch('\u017f\u212a')).toBe(true);
    expect(fullmatcher('(?ai)sk')('\u017f\u212a')).toBe(false);
  });

  it('applies scoped flags only inside their group', () => {
    const fullmatch = fullmatcher('(?i:gpt)-4O');
    expect(fullmatch('GPT-4O')).toBe(true);
    expect(fullmatch('gpt-4o')).toBe(false);
  });

  it('uses Unicode \\w, \\d and \\s unless the ASCII flag is set', () => {
    expect(fullmatcher('\\w+')('h\u00e9llo')).toBe(true);
    expect(fullmatcher('(?a)\\w+')('h\u00e9llo')).toBe(false);
    expect(fullmatcher('\\d')('\u0663')).toBe(true);
    expect(fullmatcher('\\s')('\x1c')).toBe(true);
    expect(fullmatcher('\\s')('\ufeff')).toBe(false);
  });

  it('reports patterns that re.compile rejects as invalid, with the re.error message', () => {
    expect(compilePythonFullmatch('gpt-4(')).toEqual({
      ok: false,
      reason: 'invalid',
      message: 're.error: missing ), unterminated subpattern',
    });
    expect(compilePythonFullmatch('a(?i)')).toMatchObject({
      reason: 'invalid',
      message: expect.stringContaining('global flags not at the start'),
    });
  });

  it('refuses constructs it cannot translate faithfully instead of guessing', () => {
    for (const pattern of ['(a)(?(1)b|c)', '\\N{EM DASH}', '(a)?\\1', '(?i)(a)\\1', '(?>(?:a|b?)*)c', 'a{4294967295}']) {
      expect(compilePythonFullmatch(pattern)).toMatchObject({ ok: false, reason: 'unsupported' });
    }
  });

  it('never emits a top-level negated class, which Node 20 mis-matches inside v-mode loops', () => {
    const compiled = compilePythonFullmatch('(?:[^b]a)+');
    if (!compiled.ok) throw new Error(compiled.message);
    expect(compiled.jsSource).not.toContain('[^');
    expect(compiled.fullmatch('aa')).toBe(true);
    expect(fullmatcher('(?:.a+){1,2}')('baaaa')).toBe(true);
  });

  it('emulates atomic groups and possessive repeats', () => {
    expect(fullmatcher('(?>a|ab)c')('abc')).toBe(false);
    expect(fullmatcher('(?:a|ab)c')('abc')).toBe(true);
    expect(fullmatcher('a*+a')('aa')).toBe(false);
  });

  it('exposes a stateless v-mode source that compiles to the same predicate', () => {
    const compiled = compilePythonFullmatch('(?i)claude-3.*');
    if (!compiled.ok) throw new Error(compiled.message);
    expect(compiled.jsFlags).toBe('v');
    const re = new RegExp(compiled.jsSource, compiled.jsFlags);
    expect(re.global || re.sticky).toBe(false);
    for (const s of ['Claude-3-opus', 'claude-2', 'CLAUDE-3']) expect(re.test(s)).toBe(compiled.fullmatch(s));
    expect(compiled.fullmatch('claude-3')).toBe(compiled.fullmatch('claude-3'));
  });

  it('never throws, whatever the input', () => {
    for (const pattern of ['\\', '(?', '[', '(?P<', '(?(', 'a{99999999999}', '('.repeat(1000), '\ud800']) {
      expect(() => compilePythonFullmatch(pattern)).not.toThrow();
    }
  });
});
