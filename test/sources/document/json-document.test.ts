import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile/compile.js';
import { parseJsonDocument } from '../../../src/sources/document/json-document.js';
import { MAX_NESTING, parseYamlDocument, tooDeepMessage } from '../../../src/sources/document/yaml-document.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { finish } from '../../../src/steps.js';

const JSON_BUNDLE = `{
  "policies": {
    "b": {"guardrails": ["x"]},
    "10": {"inherit": "missing"}
  },
  "policy_attachments": [{"policy": "b", "teams": ["t"]}]
}`;

/** The document parseJsonDocument reads from `text`, or undefined when it reads none. */
function jsonDoc(text: string) {
  const result = parseJsonDocument(text);
  return result?.ok ? result.document : undefined;
}

describe('parseJsonDocument', () => {
  it('reads strict JSON to the same data as JSON.parse', () => {
    expect(jsonDoc(JSON_BUNDLE)?.data).toEqual(JSON.parse(JSON_BUNDLE));
  });

  it('locates values by line and column, and missing paths at their nearest ancestor', () => {
    const doc = jsonDoc(JSON_BUNDLE);
    expect(doc?.locate(['policies', '10', 'inherit'])).toEqual({ line: 4, column: 23 });
    expect(doc?.locate(['policy_attachments', 0, 'teams', 0])).toEqual({ line: 6, column: 52 });
    expect(doc?.locate(['policies', 'b', 'nope'])).toEqual({ line: 3, column: 10 });
  });

  it('keeps keys in document order, where JS objects put integer-like keys first', () => {
    expect(jsonDoc(JSON_BUNDLE)?.keysAt(['policies'])?.map((k) => k.name)).toEqual(['b', '10']);
  });

  it('reports duplicate keys, keeping the last value as JSON.parse and PyYAML do', () => {
    const doc = jsonDoc('{"policies": {"a": {"guardrails": ["x"]},\n "a": {"guardrails": ["y"]}}}');
    expect(doc?.duplicateKeys).toEqual([{ path: ['policies', 'a'], positions: [{ line: 1, column: 15 }, { line: 2, column: 2 }] }]);
    expect(doc?.data).toEqual({ policies: { a: { guardrails: ['y'] } } });
  });

  it('reports duplicate keys nested in lists with their full path, and counts lines at \\n only', () => {
    const doc = jsonDoc('{"a": [{"x": 1},\r\n {"y": {"k": 1, "k": 2, "k": 3}}]}');
    expect(doc?.duplicateKeys).toEqual([
      { path: ['a', 1, 'y', 'k'], positions: [{ line: 2, column: 9 }, { line: 2, column: 17 }, { line: 2, column: 25 }] },
    ]);
    expect(doc?.locate(['a', 1, 'y', 'k'])).toEqual({ line: 2, column: 30 });
  });

  it('locates every value and lists every mapping\'s keys as the YAML reader does for the same text', () => {
    const policies = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`p${i}`, { inherit: i > 0 ? `p${i - 1}` : null, guardrails: { add: [`g${i}`, `h${i % 7}`], remove: [] }, description: `policy\n${i}` }]),
    );
    const attachments = Array.from({ length: 400 }, (_, i) => ({ policy: `p${i % 300}`, teams: [`t${i}`], models: i % 3 ? ['gpt-4*'] : [], scope: i % 5 ? undefined : '*' }));
    // Pretty-printed in parts and compact in others, so lines and columns vary.
    const text = `{"policies": ${JSON.stringify(policies, null, 2)},\n"policy_attachments": ${JSON.stringify(attachments)}, "n": [1, 2.5, true, null, [], {}]}`;
    const json = jsonDoc(text);
    const yaml = parseYamlDocument(text);
    if (json === undefined || !yaml.ok) throw new Error('both readers read it');
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]): void => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(json.data, []);
    expect(paths.length).toBeGreaterThan(4000);
    for (const path of paths) {
      expect(json.locate(path), path.join('.')).toEqual(yaml.document.locate(path));
      expect(json.keysAt(path)?.map((k) => [k.name, k.isString, k.positions]), path.join('.')).toEqual(yaml.document.keysAt(path)?.map((k) => [k.name, k.isString, k.positions]));
    }
  });

  it('declines text that is not strict JSON, so it is read as YAML', () => {
    expect(parseJsonDocument('{policies: {a: {}}}')).toBeUndefined();
    expect(parseJsonDocument('policies: {}')).toBeUndefined();
    expect(bundleFromYaml('{policies: {a: {guardrails: [x]}}}').data).toEqual({ policies: { a: { guardrails: ['x'] } } });
  });

  it('gives compile located issues for a JSON bundle', () => {
    const result = finish(compile(bundleFromYaml(JSON_BUNDLE, 'bundle.json'), { mode: 'strict' }));
    expect(result.ok).toBe(false);
    expect(result.issues).toContainEqual(
      expect.objectContaining({ rule: 'invalid_inheritance', file: 'bundle.json', line: 4, column: 23, path: 'policies["10"].inherit' }),
    );
  });

  it('refuses JSON nested deeper than MAX_NESTING with the position of the first level too many', () => {
    const deep = (n: number) => `{"policies": {"a": {"description": ${'['.repeat(n - 3)}${']'.repeat(n - 3)}}}}`;
    expect(parseJsonDocument(deep(MAX_NESTING))?.ok).toBe(true);
    // Brackets inside strings do not count.
    expect(parseJsonDocument(`{"policies": {"a": {"description": "${'[{'.repeat(200)}"}}}`)?.ok).toBe(true);
    expect(parseJsonDocument(deep(MAX_NESTING + 1))).toEqual({
      ok: false,
      problems: [{ message: tooDeepMessage(), line: 1, column: 36 + MAX_NESTING - 3 }],
    });
  });
});
