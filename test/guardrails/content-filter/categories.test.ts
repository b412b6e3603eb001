import { describe, expect, it } from 'vitest';
import { GUARDRAIL_KINDS } from '../../../src/guardrails/index.js';
import { builtinCategoryKey, categoryFileKey, wordsFileKey, type BundleFile } from '../../../src/model/bundle.js';
import type { GuardrailCheck, GuardrailVerdict } from '../../../src/model/guardrail.js';
import type { ValidationMode } from '../../../src/model/policy.js';
import { runSync } from '../../helpers/guardrail.js';

const ok = (shown: string, data: unknown): BundleFile => ({ ok: true, shown, path: `/b/${shown}`, fingerprint: 'x', data });
const missing = (shown: string): BundleFile => ({ ok: false, shown, path: `/b/${shown}`, fingerprint: 'e', problem: 'missing', message: `file '${shown}' not found` });

interface Built {
  readonly check: GuardrailCheck | undefined;
  readonly issues: { severity: string; rule: string; message: string; path: string }[];
  readonly unsupported: { message: string; path: string }[];
}

/** Compiles a content filter with these params and files, as compileGuardrails would (unsupported settings collected). */
function build(params: Record<string, unknown>, files: Record<string, BundleFile>, mode: ValidationMode = 'strict'): Built {
  const issues: Built['issues'] = [];
  const unsupported: Built['unsupported'] = [];
  const result = GUARDRAIL_KINDS.get('litellm_content_filter')?.compile(
    { index: 0, name: 'cf', kind: 'litellm_content_filter', mode: 'pre_call', params: { guardrail: 'litellm_content_filter', ...params } },
    {
      env: {},
      mode,
      report: (severity, rule, message, path) => issues.push({ severity, rule, message, path: path.join('.') }),
      unsupported: (message, path) => unsupported.push({ message, path: path.join('.') }),
      files: new Map(Object.entries(files)),
    },
  );
  return { check: result?.check, issues, unsupported };
}

const run = (check: GuardrailCheck | undefined, text: string): GuardrailVerdict => {
  if (check === undefined) throw new Error('no check');
  return runSync(check, [text]);
};

const SELF_HARM = {
  category_name: 'harmful_self_harm',
  default_action: 'BLOCK',
  keywords: [
    { keyword: 'kill myself', severity: 'high' },
    { keyword: 'cut', severity: 'low' },
    { keyword: 'od', severity: 'medium' },
    { keyword: 'su*cide', severity: 'high' },
  ],
  exceptions: ['suicide prevention', 'hotline'],
};

describe('litellm_content_filter: categories', () => {
  it('blocks on a built-in category keyword at or above the severity threshold, naming category, keyword and severity', () => {
    const { check, issues } = build({ categories: [{ category: 'harmful_self_harm', action: 'BLOCK' }] }, { [builtinCategoryKey('harmful_self_harm')]: ok('harmful_self_harm.yaml', SELF_HARM) });
    expect(issues).toEqual([]);
    expect(run(check, 'I want to KILL MYSELF')).toEqual({ outcome: 'fail', detail: "Content blocked: harmful_self_harm category keyword 'kill myself' detected (severity: high)" });
    // Below medium: 'cut' is dropped.
    expect(run(check, 'cut the cake')).toEqual({ outcome: 'pass' });
  });

  it('matches a single word only between word boundaries, a phrase anywhere, and * as one optional character', () => {
    const { check } = build({ categories: [{ category: 'harmful_self_harm', action: 'BLOCK', severity_threshold: 'medium' }] }, { [builtinCategoryKey('harmful_self_harm')]: ok('h.yaml', SELF_HARM) });
    expect(run(check, 'methods and moods')).toEqual({ outcome: 'pass' });
    expect(run(check, 'an OD, twice')).toMatchObject({ outcome: 'fail', detail: expect.stringContaining("'od'") });
    expect(run(check, 'sucide')).toMatchObject({ outcome: 'fail', detail: expect.stringContaining("'su*cide'") });
    expect(run(check, 'suicide')).toMatchObject({ outcome: 'fail' });
    expect(run(check, 'suxxcide')).toEqual({ outcome: 'pass' });
  });

  it('checks nothing in a text holding any category exception', () => {
    const { check } = build({ categories: [{ category: 'harmful_self_harm', action: 'BLOCK' }] }, { [builtinCategoryKey('harmful_self_harm')]: ok('h.yaml', SELF_HARM) });
    expect(run(check, 'call the hotline if you want to kill myself')).toEqual({ outcome: 'pass' });
  });

  it('masks a MASK category keyword everywhere it occurs, with the keyword tag', () => {
    const { check } = build({ categories: [{ category: 'harmful_self_harm', action: 'MASK' }], keyword_redaction_tag: '[X]' }, { [builtinCategoryKey('harmful_self_harm')]: ok('h.yaml', SELF_HARM) });
    expect(run(check, 'Kill myself? kill MYSELF.')).toEqual({ outcome: 'pass', texts: ['[X]? [X].'] });
  });

  it('blocks a conditional match: an identifier and a block word (own or inherited) in one sentence', () => {
    const child = {
      category_name: 'harmful_child_safety',
      inherit_from: 'harm_toxic_abuse.json',
      additional_block_words: ['intimate'],
      identifier_words: ['minor', 'child'],
      always_block_keywords: [{ keyword: 'csam' }],
      exceptions: ['child safety'],
    };
    const toxic = [{ id: 1, match: 'Explicit|nude', severity: 3 }, { id: 2, match: 'mild', severity: 1 }];
    const files = { [builtinCategoryKey('harmful_child_safety')]: ok('c.yaml', child), [builtinCategoryKey('harm_toxic_abuse')]: ok('harm_toxic_abuse.json', toxic) };
    const { check, issues } = build({ categories: [{ category: 'harmful_child_safety' }] }, files);
    expect(issues).toEqual([]);
    expect(run(check, 'A story. The child was nude.')).toEqual({ outcome: 'fail', detail: "Content blocked: harmful_child_safety conditional match 'child + nude' detected (severity: high)" });
    expect(run(check, 'The minor. An intimate scene.')).toEqual({ outcome: 'pass' });
    expect(run(check, 'minor intimate')).toMatchObject({ outcome: 'fail', detail: expect.stringContaining("'minor + intimate'") });
    expect(run(check, 'a mild child')).toEqual({ outcome: 'pass' });
    expect(run(check, 'CSAM')).toMatchObject({ outcome: 'fail', detail: expect.stringContaining("category keyword 'csam' detected (severity: high)") });
    expect(run(check, 'child safety: nude child')).toEqual({ outcome: 'pass' });
  });

  it('checks categories before patterns and blocked words', () => {
    const { check } = build(
      { categories: [{ category: 'harmful_self_harm', action: 'MASK' }], patterns: [{ pattern_type: 'regex', pattern: 'KEYWORD', action: 'BLOCK' }] },
      { [builtinCategoryKey('harmful_self_harm')]: ok('h.yaml', SELF_HARM) },
    );
    expect(run(check, 'kill myself')).toEqual({ outcome: 'fail', detail: 'Content blocked: custom_regex pattern detected' });
  });

  it('reads a category_file from the bundle files; skips disabled entries', () => {
    const { check } = build(
      { categories: [{ category: 'mine', category_file: 'cats/mine.yaml' }, { category: 'off', enabled: false }] },
      { [categoryFileKey('cats/mine.yaml')]: ok('cats/mine.yaml', { default_action: 'BLOCK', keywords: [{ keyword: 'zork', severity: 'high' }] }) },
    );
    expect(run(check, 'ZORK!')).toMatchObject({ outcome: 'fail', detail: "Content blocked: mine category keyword 'zork' detected (severity: high)" });
  });

  it('makes a built-in category without the categories directory not executable, in both modes', () => {
    for (const mode of ['strict', 'compat'] as const) {
      const { check, issues, unsupported } = build({ categories: [{ category: 'harmful_self_harm', action: 'BLOCK' }] }, {}, mode);
      expect(check).toBeUndefined();
      expect(issues).toEqual([]);
      expect(unsupported).toEqual([{ path: 'categories.0.category', message: expect.stringContaining('--content-filter-categories') }]);
    }
  });

  it('rejects a missing file in strict mode and makes the guardrail not executable in compat mode', () => {
    const files = { [categoryFileKey('gone.yaml')]: missing('gone.yaml') };
    const strict = build({ categories: [{ category: 'c', category_file: 'gone.yaml' }] }, files);
    expect(strict.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_file', path: 'categories.0.category_file', message: expect.stringContaining("'gone.yaml' not found") })]);
    const compat = build({ categories: [{ category: 'c', category_file: 'gone.yaml' }] }, files, 'compat');
    expect(compat.issues).toEqual([]);
    expect(compat.unsupported).toEqual([{ path: 'categories.0.category_file', message: expect.stringContaining('not found') }]);
  });

  it('rejects a file outside the bundle directory in both modes, naming the path', () => {
    const outside: BundleFile = { ok: false, shown: '../x.yaml', path: undefined, fingerprint: 'o', problem: 'outside', message: "'../x.yaml' is outside /b" };
    const compat = build({ categories: [{ category: 'c', category_file: '../x.yaml' }] }, { [categoryFileKey('../x.yaml')]: outside }, 'compat');
    expect(compat.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_file', message: expect.stringContaining('../x.yaml') })]);
  });
});

describe('litellm_content_filter: blocked_words_file', () => {
  it('adds the file words after the inline ones; the file entry wins for a keyword in both', () => {
    const words = { blocked_words: [{ keyword: 'Alpha', action: 'MASK' }, { keyword: 'beta', action: 'BLOCK', description: 'from file' }, { keyword: 'no action' }] };
    const { check, issues } = build({ blocked_words: [{ keyword: 'beta', action: 'MASK' }], blocked_words_file: 'words.yaml' }, { [wordsFileKey('words.yaml')]: ok('words.yaml', words) });
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', path: 'blocked_words_file', message: expect.stringContaining('entry 2 has no keyword or action') }), expect.objectContaining({ severity: 'warning', message: expect.stringContaining("'beta' is listed more than once") })]);
    expect(run(check, 'alpha only')).toEqual({ outcome: 'pass', texts: ['[KEYWORD_REDACTED] only'] });
    expect(run(check, 'beta')).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'beta' detected (from file)" });
  });

  it('rejects a file without a blocked_words list, as LiteLLM does', () => {
    const { issues } = build({ blocked_words_file: 'w.yaml' }, { [wordsFileKey('w.yaml')]: ok('w.yaml', ['x']) }, 'compat');
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_file', path: 'blocked_words_file' })]);
  });
});
