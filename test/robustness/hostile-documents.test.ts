// Issue 11, defect 11 (documents): a JSON bundle nested 10,000 deep was reported as "internal
// error" with no location; it must be a located BUNDLE_INVALID issue, as YAML's must. And the YAML
// key `? [a, b]` became a policy named "[ a, b ]", where PyYAML (LiteLLM) fails: "found unhashable key".
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PdpError } from '../../src/errors.js';
import type { Bundle } from '../../src/model/bundle.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { MAX_NESTING } from '../../src/sources/document/yaml-document.js';
import { loadInWorker } from '../../src/sources/loader/caller.js';
import { activatorFor } from '../helpers/activator.js';

/** How `text` fails to load, in this thread and on the loader thread: the same located PdpError. */
async function loadErrors(text: string): Promise<PdpError[]> {
  const bytes = Buffer.from(text, 'utf8');
  const hash = createHash('sha256').update(bytes).digest('hex');
  const errors: unknown[] = [];
  try {
    parseBundleText(text, 'hostile.yaml');
  } catch (e) {
    errors.push(e);
  }
  errors.push(await loadInWorker({ kind: 'file', origin: 'hostile.yaml', bytes, hash }).catch((e: unknown) => e));
  for (const e of errors) expect(e).toBeInstanceOf(PdpError);
  return errors as PdpError[];
}

const DEPTH = 10_000;

describe('deeply nested documents (issue 11, defect 11)', () => {
  it.each([
    ['JSON lists', `{"policies": {"a": {"description": ${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}}}`, 1],
    ['JSON objects', `{"policies": ${'{"a": '.repeat(DEPTH)}{}${'}'.repeat(DEPTH)}}`, 1],
    ['YAML flow lists', `policies:\n  a:\n    description: ${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}\n`, 3],
    ['YAML block mappings', `policies:\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(2 * i + 2)}a:`).join('\n')} 1\n`, 0],
  ])('reports %s nested 10,000 deep as a located BUNDLE_INVALID issue, not an internal error', async (_, text, line) => {
    for (const error of await loadErrors(text)) {
      expect(error.code).toBe('BUNDLE_INVALID');
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toMatchObject({ severity: 'error', rule: 'unparseable', file: 'hostile.yaml' });
      expect(error.issues[0]?.message).toContain('levels deep');
      if (line > 0) expect(error.issues[0]?.line).toBe(line);
      else expect(error.issues[0]?.line).toBeGreaterThan(50);
      expect(error.issues[0]?.column).toBeGreaterThan(0);
    }
  });

  it('draws the line at MAX_NESTING levels, for YAML as for JSON', async () => {
    // The top level, policies, a, description: 4 levels, then the lists.
    const yaml = (depth: number) => `policies:\n  a:\n    description: ${'['.repeat(depth - 3)}${']'.repeat(depth - 3)}\n`;
    expect(() => parseBundleText(yaml(MAX_NESTING), 'ok.yaml')).not.toThrow();
    for (const error of await loadErrors(yaml(MAX_NESTING + 1))) {
      expect(error.issues).toEqual([expect.objectContaining({ rule: 'unparseable', line: 3, column: 18 + MAX_NESTING - 3 })]);
    }
  });

  it('reports data nested deep through aliases, located', async () => {
    // Each node is 61 levels deep at most, but x1's data is x0's 60 levels inside 60 more.
    const lines = [`x0: &a0 ${'['.repeat(60)}1${']'.repeat(60)}`, `x1: ${'['.repeat(60)}*a0${']'.repeat(60)}`, 'policies: {}'];
    for (const error of await loadErrors(`${lines.join('\n')}\n`)) {
      expect(error.code).toBe('BUNDLE_INVALID');
      expect(error.issues[0]?.message).toContain('levels deep');
      expect(error.issues[0]?.line).toBeGreaterThan(0);
    }
  });

  it('fails the activation cleanly: the last good snapshot keeps serving', async () => {
    const good = parseBundleText('policies: {a: {guardrails: [x]}}\n', 'hostile.json');
    const deep = `{"policies": {"a": {"description": ${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}}}`;
    let calls = 0;
    const source = {
      origin: 'hostile.json',
      load: async (): Promise<Bundle> => {
        if (calls++ === 0) return good;
        const bytes = Buffer.from(deep);
        return loadInWorker({ kind: 'file', origin: 'hostile.json', bytes, hash: createHash('sha256').update(bytes).digest('hex') });
      },
    };
    const { holder, activator } = activatorFor(source);
    await activator.activate();
    const event = await activator.activate();
    expect(event.kind).toBe('failed');
    if (event.kind !== 'failed') return;
    expect(event.error.code).toBe('BUNDLE_INVALID');
    expect(event.issues[0]).toMatchObject({ rule: 'unparseable', line: 1 });
    expect(holder.current()?.policies.has('a')).toBe(true);
  });
});

describe('collection keys (issue 11, defect 11)', () => {
  it.each([
    ['a list key', 'policies:\n  ? [a, b]\n  : {guardrails: [x]}\n', 2, 5, 'not a list'],
    ['a mapping key', 'policies:\n  ? {a: 1}\n  : {guardrails: [x]}\n', 2, 5, 'not a mapping'],
    ['a flow list key', 'policies: {[a, b]: {guardrails: [x]}}\n', 1, 12, 'not a list'],
    ['an alias to a list as key', 'x: &k [a, b]\npolicies:\n  *k : {guardrails: [x]}\n', 3, 3, 'not a list'],
    ['a list key deep in a guardrail', 'guardrails:\n  - guardrail_name: g\n    litellm_params: {guardrail: presidio, ? [x] : 1}\npolicies: {}\n', 3, 45, 'not a list'],
    ['a list key outside the policy sections', 'policies: {}\nmodel_list:\n  ? [gpt-4]\n  : 1\n', 3, 5, 'not a list'],
  ])('refuses %s, located, as PyYAML does', async (_, text, line, column, kind) => {
    for (const error of await loadErrors(text)) {
      expect(error.code).toBe('BUNDLE_INVALID');
      expect(error.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'unparseable', line, column })]);
      expect(error.issues[0]?.message).toContain(kind);
      expect(error.issues[0]?.message).toContain('found unhashable key');
    }
  });

  it('still reads scalar keys of every kind and merge keys', () => {
    const bundle = parseBundleText('base: &b {guardrails: [x]}\npolicies:\n  "quoted": {<<: *b}\n  plain: {guardrails: [y]}\n', 'ok.yaml');
    expect(Object.keys((bundle.data as { policies: object }).policies)).toEqual(['quoted', 'plain']);
  });
});
