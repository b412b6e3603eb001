import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { countCodePoints } from '../../src/guardrails/length-limit.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { buildGuardrail, checkOf as checkGuardrail, runSync as run } from '../helpers/guardrail.js';
import { finish } from '../../src/steps.js';

const build = (params: Record<string, unknown>) => buildGuardrail('pdp_length_limit', params);
const checkOf = (params: Record<string, unknown>) => checkGuardrail('pdp_length_limit', params);

describe('pdp_length_limit', () => {
  it('passes at the character limit and fails one character over, with numbers only in the detail', () => {
    const check = checkOf({ max_chars: 10 });
    expect(run(check, ['0123456789'])).toEqual({ outcome: 'pass' });
    const verdict = run(check, ['secret text']);
    expect(verdict).toEqual({ outcome: 'fail', detail: 'length limit exceeded: 11 characters, max_chars is 10' });
  });

  it('measures a request as all its message contents together', () => {
    const check = checkOf({ max_chars: 10 });
    expect(run(check, ['12345', '12345'])).toEqual({ outcome: 'pass' });
    expect(run(check, ['12345', '123456'])).toMatchObject({ outcome: 'fail' });
  });

  it('counts characters as code points, so an emoji counts once', () => {
    const check = checkOf({ max_chars: 3 });
    expect(run(check, ['a😀b'])).toEqual({ outcome: 'pass' });
    expect(run(check, ['a😀bc'])).toEqual({ outcome: 'fail', detail: 'length limit exceeded: 4 characters, max_chars is 3' });
    expect(countCodePoints('😀😀\ud800x')).toBe(4);
  });

  it('approximates tokens as ceil(characters / 4)', () => {
    const check = checkOf({ max_tokens: 2 });
    expect(run(check, ['12345678'])).toEqual({ outcome: 'pass' });
    expect(run(check, ['123456789'])).toEqual({ outcome: 'fail', detail: 'length limit exceeded: about 3 tokens (9 characters / 4), max_tokens is 2' });
  });

  it('reports max_chars first when both limits are exceeded, and max_tokens when only it is', () => {
    const check = checkOf({ max_chars: 100, max_tokens: 5 });
    expect(run(check, ['x'.repeat(21)])).toMatchObject({ outcome: 'fail', detail: expect.stringContaining('max_tokens is 5') });
    expect(run(check, ['x'.repeat(101)])).toMatchObject({ outcome: 'fail', detail: expect.stringContaining('max_chars is 100') });
    expect(run(check, ['x'.repeat(20)])).toEqual({ outcome: 'pass' });
  });

  it('checks a response text the same way', () => {
    const check = checkOf({ max_chars: 5 });
    expect(run(check, ['123456'], 'response')).toMatchObject({ outcome: 'fail' });
    expect(run(check, ['12345'], 'response')).toEqual({ outcome: 'pass' });
  });

  it('requires max_chars or max_tokens', () => {
    const { check, issues } = build({});
    expect(check).toBeUndefined();
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_guardrail_config', path: '' })]);
    expect(issues[0]?.message).toContain('max_chars or max_tokens');
  });

  it('rejects limits that are not positive integers, each at its key', () => {
    for (const bad of [0, -5, 2.5, '100', true]) {
      const { check, issues } = build({ max_chars: bad, max_tokens: bad });
      expect(check, String(bad)).toBeUndefined();
      expect(issues.map((i) => i.path)).toEqual(['max_chars', 'max_tokens']);
    }
  });

  it('warns about unknown keys', () => {
    const { check, issues } = build({ max_char: 10, max_tokens: 10 });
    expect(check).toBeDefined();
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', path: 'max_char' })]);
  });

  it('fails activation of a bundle with a bad limit, located at the key', () => {
    const yaml = `
guardrails:
  - guardrail_name: len
    litellm_params:
      guardrail: pdp_length_limit
      mode: pre_call
      max_chars: -1
`;
    const result = finish(compile(bundleFromYaml(yaml, 'bundle.yaml'), { mode: 'strict' }));
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_guardrail_config', line: 7, path: 'guardrails[0].litellm_params.max_chars' })]);
  });
});
