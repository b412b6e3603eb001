import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile/compile.js';
import type { GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../../../src/model/guardrail.js';
import { GUARDRAIL_KINDS } from '../../../src/guardrails/index.js';
import { patternBudgetMs, SLICED_MIN_CHARS } from '../../../src/guardrails/content-filter/content-filter.js';
import type { PatternTimeout } from '../../../src/regex/safety/bounded.js';
import type { ValidationMode } from '../../../src/model/policy.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { buildGuardrail, checkOf as checkGuardrail, runSync as run } from '../../helpers/guardrail.js';
import { finish } from '../../../src/steps.js';

const build = (params: Record<string, unknown>, mode: ValidationMode = 'strict') => buildGuardrail('litellm_content_filter', params, mode);
const checkOf = (params: Record<string, unknown>) => checkGuardrail('litellm_content_filter', params);

const prebuilt = (pattern_name: string, action: string) => ({ pattern_type: 'prebuilt', pattern_name, action });
const word = (keyword: string, action: string, description?: string) => ({ keyword, action, ...(description === undefined ? {} : { description }) });

describe('litellm_content_filter: patterns', () => {
  it('blocks on a BLOCK pattern with a detail naming the pattern', () => {
    const check = checkOf({ patterns: [prebuilt('us_ssn', 'BLOCK')] });
    expect(run(check, ['My SSN is 123-45-6789'])).toEqual({ outcome: 'fail', detail: 'Content blocked: us_ssn pattern detected' });
  });

  it('passes without replacement texts when nothing matches', () => {
    const check = checkOf({ patterns: [prebuilt('us_ssn', 'BLOCK'), prebuilt('email', 'MASK')], blocked_words: [word('secret', 'MASK')] });
    expect(run(check, ['hello', 'nothing to see'])).toEqual({ outcome: 'pass' });
  });

  it('masks every match of a MASK pattern with [<NAME>_REDACTED], one replacement per input text', () => {
    const check = checkOf({ patterns: [prebuilt('email', 'MASK')] });
    expect(run(check, ['hi', 'mail a@x.io or b@y.io'])).toEqual({ outcome: 'pass', texts: ['hi', 'mail [EMAIL_REDACTED] or [EMAIL_REDACTED]'] });
  });

  it('runs custom regex patterns case-insensitively, named by name or custom_regex', () => {
    const check = checkOf({
      patterns: [
        { pattern_type: 'regex', pattern: String.raw`\b[A-Z]{3}-\d{4}\b`, name: 'employee_id', action: 'MASK' },
        { pattern_type: 'regex', pattern: String.raw`project-\d{6}`, action: 'MASK' },
      ],
    });
    expect(run(check, ['emp abc-1234 on PROJECT-123456'])).toEqual({ outcome: 'pass', texts: ['emp [EMPLOYEE_ID_REDACTED] on [CUSTOM_REGEX_REDACTED]'] });
    const blocking = checkOf({ patterns: [{ pattern_type: 'regex', pattern: 'internal-only', name: 'marker', action: 'BLOCK' }] });
    expect(run(blocking, ['this is INTERNAL-ONLY'])).toEqual({ outcome: 'fail', detail: 'Content blocked: marker pattern detected' });
  });

  it('applies patterns in order, each to the text as masked so far, as LiteLLM does', () => {
    const check = checkOf({ patterns: [prebuilt('email', 'MASK'), { pattern_type: 'regex', pattern: 'EMAIL_REDACTED', name: 'masked_email', action: 'BLOCK' }] });
    expect(run(check, ['write to a@x.io'])).toEqual({ outcome: 'fail', detail: 'Content blocked: masked_email pattern detected' });
  });

  it('blocks when a later text matches, even after masking an earlier one', () => {
    const check = checkOf({ patterns: [prebuilt('email', 'MASK'), prebuilt('us_ssn', 'BLOCK')] });
    expect(run(check, ['a@x.io', 'ssn 123-45-6789'])).toEqual({ outcome: 'fail', detail: 'Content blocked: us_ssn pattern detected' });
  });

  it('checks a response text the same way', () => {
    const check = checkOf({ patterns: [prebuilt('email', 'MASK')], blocked_words: [word('forbidden', 'BLOCK')] });
    expect(run(check, ['reply to a@x.io'], 'response')).toEqual({ outcome: 'pass', texts: ['reply to [EMAIL_REDACTED]'] });
    expect(run(check, ['this is Forbidden'], 'response')).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'forbidden' detected" });
  });

  it('uses pattern_redaction_format and keyword_redaction_tag, falling back to the defaults when empty', () => {
    const custom = checkOf({
      pattern_redaction_format: '***{pattern_name}*** {{x}}',
      keyword_redaction_tag: '***REDACTED***',
      patterns: [prebuilt('email', 'MASK'), prebuilt('us_ssn', 'MASK')],
      blocked_words: [word('confidential', 'MASK')],
    });
    expect(run(custom, ['Email john@example.com, SSN 123-45-6789, confidential data'])).toEqual({
      outcome: 'pass',
      texts: ['Email ***EMAIL*** {x}, SSN ***US_SSN*** {x}, ***REDACTED*** data'],
    });
    const defaults = checkOf({ pattern_redaction_format: '', keyword_redaction_tag: '', patterns: [prebuilt('email', 'MASK')], blocked_words: [word('x1', 'MASK')] });
    expect(run(defaults, ['a@x.io x1'])).toEqual({ outcome: 'pass', texts: ['[EMAIL_REDACTED] [KEYWORD_REDACTED]'] });
  });

  it('inserts tags literally, without replacement-pattern expansion', () => {
    const check = checkOf({ keyword_redaction_tag: '$& $1', pattern_redaction_format: '$&{pattern_name}', patterns: [prebuilt('email', 'MASK')], blocked_words: [word('word', 'MASK')] });
    expect(run(check, ['a@x.io word'])).toEqual({ outcome: 'pass', texts: ['$&EMAIL $& $1'] });
  });
});

describe('litellm_content_filter: blocked_words', () => {
  it('blocks on a keyword anywhere, case-insensitively, as a substring (not a whole word)', () => {
    const check = checkOf({ blocked_words: [word('Confidential', 'BLOCK', 'Sensitive internal information')] });
    const blocked = { outcome: 'fail', detail: "Content blocked: keyword 'confidential' detected (Sensitive internal information)" };
    expect(run(check, ['this is CONFIDENTIAL'])).toEqual(blocked);
    expect(run(check, ['nonconfidentiality'])).toEqual(blocked);
    expect(run(check, ['confide in me'])).toEqual({ outcome: 'pass' });
  });

  it('masks every case variant of a MASK keyword with [KEYWORD_REDACTED]', () => {
    const check = checkOf({ blocked_words: [word('proprietary', 'MASK'), word('secret_project', 'MASK')] });
    expect(run(check, ['Proprietary and PROPRIETARY, about Secret_Project'])).toEqual({
      outcome: 'pass',
      texts: ['[KEYWORD_REDACTED] and [KEYWORD_REDACTED], about [KEYWORD_REDACTED]'],
    });
  });

  it('handles keywords in list order: a keyword masked away no longer triggers a later BLOCK', () => {
    const maskFirst = checkOf({ blocked_words: [word('secret project', 'MASK'), word('secret', 'BLOCK')] });
    expect(run(maskFirst, ['the secret project'])).toEqual({ outcome: 'pass', texts: ['the [KEYWORD_REDACTED]'] });
    expect(run(maskFirst, ['the secret project and a secret'])).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'secret' detected" });
    const blockFirst = checkOf({ blocked_words: [word('secret', 'BLOCK'), word('secret project', 'MASK')] });
    expect(run(blockFirst, ['the secret project'])).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'secret' detected" });
  });

  it('checks keywords after the patterns, so a keyword can match a pattern tag, as in LiteLLM', () => {
    const check = checkOf({ patterns: [prebuilt('email', 'MASK')], blocked_words: [word('email', 'BLOCK')] });
    expect(run(check, ['write to a@x.io'])).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'email' detected" });
  });

  it('lets a later duplicate keyword decide the action, keeping the first position (warning)', () => {
    const { check, issues } = build({ blocked_words: [word('alpha', 'BLOCK'), word('beta', 'BLOCK'), word('ALPHA', 'MASK')] });
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', path: 'blocked_words.2.keyword' })]);
    expect(run(check as GuardrailCheck, ['alpha beta'])).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'beta' detected" });
    expect(run(check as GuardrailCheck, ['alpha only'])).toEqual({ outcome: 'pass', texts: ['[KEYWORD_REDACTED] only'] });
  });

  it('handles 1,000 keywords over a 2 KB text', () => {
    const keywords = Array.from({ length: 1000 }, (_, i) => word(`term${i}x`, i === 777 ? 'BLOCK' : 'MASK'));
    const check = checkOf({ blocked_words: keywords });
    const filler = 'lorem ipsum dolor sit amet '.repeat(80).slice(0, 2000);
    expect(run(check, [filler])).toEqual({ outcome: 'pass' });
    expect(run(check, [`${filler} TERM5X`])).toEqual({ outcome: 'pass', texts: [`${filler} [KEYWORD_REDACTED]`] });
    expect(run(check, [`${filler} term777x`])).toEqual({ outcome: 'fail', detail: "Content blocked: keyword 'term777x' detected" });
  });
});

describe('litellm_content_filter: details never carry prompt text', () => {
  it('names the pattern or the configured keyword, never the matched text', () => {
    const check = checkOf({
      patterns: [prebuilt('credit_card', 'BLOCK'), prebuilt('email', 'BLOCK'), { pattern_type: 'regex', pattern: String.raw`acct-\d+`, action: 'BLOCK' }],
      blocked_words: [word('top secret', 'BLOCK')],
    });
    const prompts: readonly (readonly [string, string])[] = [
      ['pay with 4111 1111 1111 1111', '4111 1111 1111 1111'],
      ['mail jane.doe@example.com', 'jane.doe@example.com'],
      ['account ACCT-99812', 'ACCT-99812'],
      ['this is TOP SECRET stuff', 'TOP SECRET'],
    ];
    for (const [prompt, sensitive] of prompts) {
      const verdict = run(check, [prompt]);
      expect(verdict.outcome).toBe('fail');
      const detail = verdict.outcome === 'fail' ? verdict.detail : '';
      expect(detail).not.toContain(sensitive);
      expect(detail).not.toContain(prompt);
    }
  });
});

describe('litellm_content_filter: settings', () => {
  it('rejects an unknown prebuilt pattern, listing the known ones', () => {
    const { check, issues } = build({ patterns: [prebuilt('us_ssnn', 'BLOCK')] });
    expect(check).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'error', rule: 'invalid_guardrail_config', path: 'patterns.0.pattern_name' });
    expect(issues[0]?.message).toContain("unknown prebuilt pattern 'us_ssnn'");
    expect(issues[0]?.message).toContain('us_ssn, us_ssn_no_dash, email');
  });

  it('reports every malformed entry at its own path', () => {
    const { check, issues } = build({
      patterns: [
        { pattern_type: 'builtin', pattern_name: 'email', action: 'MASK' },
        { pattern_type: 'prebuilt', pattern_name: 'email', action: 'block' },
        { pattern_type: 'regex', action: 'MASK' },
        'email',
      ],
      blocked_words: [{ keyword: '', action: 'BLOCK' }, { keyword: 'x', action: 'DENY' }, 'plain', { keyword: 'y', action: 'MASK', description: 3 }],
    });
    expect(check).toBeUndefined();
    expect(issues.filter((i) => i.severity === 'error').map((i) => i.path)).toEqual([
      'patterns.0.pattern_type',
      'patterns.1.action',
      'patterns.2.pattern',
      'patterns.3',
      'blocked_words.0.keyword',
      'blocked_words.1.action',
      'blocked_words.2',
      'blocked_words.3.description',
    ]);
  });

  it('rejects a custom pattern that Python rejects, or that matches the empty string', () => {
    const { issues } = build({ patterns: [{ pattern_type: 'regex', pattern: '(unclosed', action: 'BLOCK' }, { pattern_type: 'regex', pattern: 'x*', action: 'MASK' }] });
    expect(issues.map((i) => [i.path, i.severity])).toEqual([
      ['patterns.0.pattern', 'error'],
      ['patterns.1.pattern', 'error'],
    ]);
    expect(issues[0]?.message).toContain('not a valid Python regular expression');
    expect(issues[1]?.message).toContain('matches the empty string');
  });

  it('reports an unsafe custom pattern as unsafe_regex: an error in strict mode, a warning in compat mode', () => {
    const params = { patterns: [{ pattern_type: 'regex', pattern: '(a+)+b', action: 'MASK' }] };
    const strict = build(params, 'strict');
    expect(strict.check).toBeUndefined();
    expect(strict.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'unsafe_regex', path: 'patterns.0.pattern' })]);
    const compat = build(params, 'compat');
    expect(compat.issues).toEqual([expect.objectContaining({ severity: 'warning', rule: 'unsafe_regex', path: 'patterns.0.pattern' })]);
    expect(run(compat.check as GuardrailCheck, ['aab'])).toEqual({ outcome: 'pass', texts: ['[CUSTOM_REGEX_REDACTED]'] });
  });

  it('checks a custom pattern for backtracking under the IGNORECASE flag it runs with', () => {
    // Safe case-sensitively (the three branches differ); under (?i) they are the same text, so the
    // loop can split "xyxy..." in exponentially many ways (6.6 s on 37 bytes before this check).
    const { check, issues } = build({ patterns: [{ pattern_type: 'regex', pattern: '(?:xy|XY|Xy)+z', action: 'MASK' }] });
    expect(check).toBeUndefined();
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'unsafe_regex', path: 'patterns.0.pattern' })]);
    expect(issues[0]?.message).toContain('"(?:xy|XY|Xy)+z" can backtrack catastrophically');
  });

  it('rejects, in compat mode too, a pattern that backtracks past its budget on the empty string', () => {
    // It would run out of its time budget on every text (9.5 s to search '' unbounded).
    const started = performance.now();
    const { check, issues } = build({ patterns: [{ pattern_type: 'regex', pattern: '(?:a?|(b)?){26}(?!)', action: 'MASK' }] }, 'compat');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(check).toBeUndefined();
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', rule: 'invalid_guardrail_config', message: expect.stringContaining('on the empty string') }));
  });

  it('reports LiteLLM features the sidecar cannot run, naming each key (compiled alone: as errors; in a bundle: not executable)', () => {
    const { check, issues } = build({
      categories: [{ category: 'harmful_self_harm', enabled: true, action: 'BLOCK' }],
      blocked_words_file: '/etc/words.yaml',
      image_model: 'gpt-4o',
      experimental_use_latest_role_message_only: true,
      blocked_words: [word('x', 'BLOCK')],
    });
    expect(check).toBeUndefined();
    const errors = issues.filter((i) => i.severity === 'error');
    expect(errors.map((i) => i.path)).toEqual(['image_model', 'experimental_use_latest_role_message_only', 'categories.0.category', 'blocked_words_file']);
    for (const e of errors) expect(e.message).toContain(e.path.split('.')[0]);
  });

  it('warns about unknown keys, a wildcard keyword, an unused severity_threshold and an empty filter', () => {
    const { check, issues } = build({ blocked_word: [word('x', 'BLOCK')], severity_threshold: 'high', patterns: [] });
    expect(check).toBeDefined();
    expect(issues.map((i) => [i.severity, i.path])).toEqual([
      ['warning', 'blocked_word'],
      ['warning', 'severity_threshold'],
      ['warning', ''],
    ]);
    const star = build({ blocked_words: [word('f*ck', 'MASK')] });
    expect(star.issues).toEqual([expect.objectContaining({ severity: 'warning', path: 'blocked_words.0.keyword' })]);
    expect(run(star.check as GuardrailCheck, ['f*ck fck'])).toEqual({ outcome: 'pass', texts: ['[KEYWORD_REDACTED] fck'] });
  });

  it('rejects bad redaction settings', () => {
    const { issues } = build({ pattern_redaction_format: '[{name}]', keyword_redaction_tag: '\\1', patterns: [prebuilt('email', 'MASK')] });
    expect(issues.map((i) => i.path)).toEqual(['pattern_redaction_format', 'keyword_redaction_tag']);
    expect(build({ patterns: 'email' }).issues).toEqual([expect.objectContaining({ severity: 'error', path: 'patterns' })]);
  });
});

describe('litellm_content_filter in a bundle', () => {
  const bundle = (patternName: string): string => `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: pre_call
      patterns:
        - pattern_type: prebuilt
          pattern_name: ${patternName}
          action: BLOCK
policies:
  p:
    guardrails:
      add: [pii]
`;

  it('fails activation with a located issue when a pattern is unknown', () => {
    const result = finish(compile(bundleFromYaml(bundle('us_ssnn'), 'bundle.yaml'), { mode: 'strict' }));
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'error', rule: 'invalid_guardrail_config', file: 'bundle.yaml', line: 9, path: 'guardrails[0].litellm_params.patterns[0].pattern_name' }),
    ]);
    expect(result.issues[0]?.message).toContain("guardrail 'pii' (litellm_content_filter)");
  });

  it('compiles a valid filter into an executable guardrail', () => {
    const result = finish(compile(bundleFromYaml(bundle('us_ssn')), { mode: 'strict' }));
    if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'));
    const guardrail = result.snapshot.guardrails.get('pii');
    expect(guardrail?.kind).toBe('litellm_content_filter');
    expect(run(guardrail?.check as GuardrailCheck, ['ssn 123-45-6789'])).toEqual({ outcome: 'fail', detail: 'Content blocked: us_ssn pattern detected' });
  });
});

describe('litellm_content_filter: time budget and large texts', () => {
  const input = (texts: readonly string[], signal = new AbortController().signal): GuardrailInput => ({
    inputType: 'request',
    texts,
    messages: texts.map((content) => ({ role: 'user', content })),
    context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] },
    requestId: '',
    signal,
  });
  const compiled = (params: Record<string, unknown>, mode: ValidationMode = 'strict') => {
    const events: PatternTimeout[] = [];
    const build = GUARDRAIL_KINDS.get('litellm_content_filter')?.compile(
      { index: 0, name: 'pii', kind: 'litellm_content_filter', mode: 'pre_call', params: { guardrail: 'litellm_content_filter', ...params } },
      { env: { onPatternTimeout: (e) => events.push(e) }, mode, report: () => undefined },
    );
    if (build === undefined) throw new Error('did not compile');
    return { check: build.check, events };
  };
  const custom = (pattern: string, action = 'MASK', name?: string) => ({ pattern_type: 'regex', pattern, action, ...(name === undefined ? {} : { name }) });

  it('budgets custom patterns linearly in the characters searched, capped', () => {
    expect(patternBudgetMs(0)).toBe(10);
    expect(patternBudgetMs(20_000)).toBe(20);
    expect(patternBudgetMs(10_000_000)).toBe(250);
  });

  it('ends in error, naming the pattern and never the text, when a custom pattern runs out of its budget', () => {
    const { check, events } = compiled({ patterns: [prebuilt('email', 'MASK'), custom('(a+)+$', 'BLOCK', 'runaway')] }, 'compat');
    const hostile = `${'a'.repeat(40)}!`;
    const started = performance.now();
    const verdict = check(input([hostile])) as GuardrailVerdict;
    expect(performance.now() - started).toBeLessThan(1_000); // unbounded: days
    expect(verdict).toEqual({ outcome: 'error', detail: expect.stringMatching(/^pattern matching exceeded its time budget \(pattern 'runaway', \d+ ms\)$/) });
    expect(JSON.stringify(verdict)).not.toContain('aaaa');
    expect(check(input([hostile, hostile]))).toEqual(expect.objectContaining({ outcome: 'error' }));
    expect(events).toEqual([{ use: 'content_filter', pattern: '(a+)+$', guardrail: 'pii', budgetMs: expect.any(Number) }]);
    expect(check(input(['aaa']))).toEqual({ outcome: 'fail', detail: 'Content blocked: runaway pattern detected' });
  });

  it('checks small inputs synchronously and large ones in steps, with the same answers', async () => {
    const params = { patterns: [prebuilt('email', 'MASK'), custom(String.raw`\b[A-Z]{3}-\d{4}\b`, 'MASK', 'employee_id')], blocked_words: [word('apollo', 'MASK')] };
    const { check } = compiled(params);
    const line = 'ask jane@example.com about ABC-1234 and project Apollo. ';
    const small = [line, 'nothing here'];
    const large = [line.repeat(Math.ceil(SLICED_MIN_CHARS / line.length) + 1), 'x', line];
    const many = Array.from({ length: 2_000 }, (_, i) => (i % 3 === 0 ? line : `message ${i}`));
    const expected = (texts: readonly string[]) => texts.map((t) => t.replaceAll('jane@example.com', '[EMAIL_REDACTED]').replaceAll('ABC-1234', '[EMPLOYEE_ID_REDACTED]').replaceAll('Apollo', '[KEYWORD_REDACTED]'));
    const sync = check(input(small));
    expect(sync).not.toBeInstanceOf(Promise);
    expect(sync).toEqual({ outcome: 'pass', texts: expected(small) });
    for (const texts of [large, many]) {
      const pending = check(input(texts));
      expect(pending).toBeInstanceOf(Promise);
      expect(await pending).toEqual({ outcome: 'pass', texts: expected(texts) });
    }
    expect(await check(input([...many, 'ssn ABC-1234']))).toEqual(expect.objectContaining({ outcome: 'pass' }));
  });

  it('stops a large search that is superlinear in the text (an accepted pattern, searched from every position)', async () => {
    const { check } = compiled({ patterns: [custom('[a-z]+x')] }); // 42 s over 100 KB unbounded
    const started = performance.now();
    const verdict = await check(input(['a'.repeat(100_000)]));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(verdict).toEqual({ outcome: 'error', detail: expect.stringContaining('pattern matching exceeded its time budget') });
  });

  it('stops between steps once the step is aborted (its time is up)', async () => {
    const { check } = compiled({ patterns: [prebuilt('email', 'MASK'), custom('x+y', 'MASK')] });
    const controller = new AbortController();
    controller.abort();
    expect(await check(input(['a b '.repeat(SLICED_MIN_CHARS)], controller.signal))).toEqual({ outcome: 'error', detail: "the step's time is up" });
  });
});
