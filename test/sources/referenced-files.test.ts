import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinCategoryKey, categoryFileKey, wordsFileKey, type BundleFile } from '../../src/model/bundle.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { hashOf } from '../../src/sources/document/bundle-text.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-referenced-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

function filter(params: string): string {
  return `guardrails:\n  - guardrail_name: cf\n    litellm_params:\n      guardrail: litellm_content_filter\n${params
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n')}\npolicies: {}\n`;
}

const CATEGORY = 'category_name: mine\nkeywords:\n  - {keyword: zork, severity: high}\n';

describe('files a bundle names (sources/referenced-files.ts)', () => {
  it('are read with the bundle, relative to its directory, parsed, and part of its hash', async () => {
    write('cats/mine.yaml', CATEGORY);
    write('words.yaml', 'blocked_words:\n  - {keyword: x, action: BLOCK}\n');
    const bundlePath = write('bundle.yaml', filter('categories: [{category: mine, category_file: cats/mine.yaml}]\nblocked_words_file: words.yaml'));
    const bundle = await createBundleFileSource({ path: bundlePath }).load();
    const category = bundle.files?.get(categoryFileKey('cats/mine.yaml')) as BundleFile;
    expect(category).toMatchObject({ ok: true, shown: 'cats/mine.yaml', path: path.join(dir, 'cats/mine.yaml'), data: { category_name: 'mine' } });
    expect(bundle.files?.get(wordsFileKey('words.yaml'))).toMatchObject({ ok: true, data: { blocked_words: [{ keyword: 'x', action: 'BLOCK' }] } });
    expect(bundle.hash).not.toBe(hashOf(fs.readFileSync(bundlePath)));
  });

  it('change the bundle: a changed file gives a new hash and is reported by watch', async () => {
    write('cats/mine.yaml', CATEGORY);
    const bundlePath = write('bundle.yaml', filter('categories: [{category: mine, category_file: cats/mine.yaml}]'));
    const source = createBundleFileSource({ path: bundlePath, debounceMs: 20 });
    const first = await source.load();
    let changes = 0;
    const stop = source.watch?.(() => changes++);
    try {
      await new Promise((r) => setTimeout(r, 400));
      changes = 0;
      write('cats/mine.yaml', CATEGORY.replace('zork', 'frob'));
      const deadline = Date.now() + 5_000;
      while (changes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(changes).toBeGreaterThan(0);
      const second = await source.load();
      expect(second.hash).not.toBe(first.hash);
      expect((second.files?.get(categoryFileKey('cats/mine.yaml')) as BundleFile & { ok: true }).data).toMatchObject({ keywords: [{ keyword: 'frob' }] });
    } finally {
      await stop?.();
    }
  });

  it('are confined to the bundle directory: .. and absolute paths outside it are refused unread, naming the path', async () => {
    const outsideFile = path.join(os.tmpdir(), `pdp-outside-${process.pid}.yaml`);
    fs.writeFileSync(outsideFile, CATEGORY);
    try {
      const bundlePath = write('sub/bundle.yaml', filter(`categories:\n  - {category: a, category_file: ../x.yaml}\n  - {category: b, category_file: "${outsideFile}"}`));
      write('x.yaml', CATEGORY);
      const bundle = await createBundleFileSource({ path: bundlePath }).load();
      for (const name of ['../x.yaml', outsideFile]) {
        expect(bundle.files?.get(categoryFileKey(name))).toMatchObject({ ok: false, problem: 'outside', path: undefined, message: expect.stringContaining(name) });
      }
    } finally {
      fs.rmSync(outsideFile, { force: true });
    }
  });

  it('have a size limit and must be regular files; a missing one is recorded, not thrown', async () => {
    write('big.yaml', `blocked_words: [${'x'.repeat(200)}]\n`);
    fs.mkdirSync(path.join(dir, 'adir'));
    const bundlePath = write('bundle.yaml', filter('categories:\n  - {category: a, category_file: big.yaml}\n  - {category: b, category_file: adir}\n  - {category: c, category_file: gone.yaml}'));
    const bundle = await createBundleFileSource({ path: bundlePath, maxFileBytes: 100 }).load();
    expect(bundle.files?.get(categoryFileKey('big.yaml'))).toMatchObject({ ok: false, problem: 'unreadable', message: expect.stringContaining('over the limit of 100 bytes') });
    expect(bundle.files?.get(categoryFileKey('adir'))).toMatchObject({ ok: false, problem: 'unreadable', message: expect.stringContaining('not a regular file') });
    expect(bundle.files?.get(categoryFileKey('gone.yaml'))).toMatchObject({ ok: false, problem: 'missing' });
  });

  it('read built-in categories and what they inherit from the categories directory, .yaml before .json', async () => {
    const cats = path.join(dir, 'litellm_content_filter', 'categories');
    write('litellm_content_filter/categories/child.yaml', 'identifier_words: [child]\ninherit_from: toxic.json\n');
    write('litellm_content_filter/categories/toxic.json', '[{"id": 1, "match": "a|b", "severity": 3}]');
    write('litellm_content_filter/policy_templates/t.yaml', CATEGORY);
    const bundlePath = write('cfg/bundle.yaml', filter('categories:\n  - {category: child}\n  - {category: t, category_file: litellm/proxy/x/policy_templates/t.yaml}'));
    const bundle = await createBundleFileSource({ path: bundlePath, contentFilterCategoriesDir: cats }).load();
    expect(bundle.files?.get(builtinCategoryKey('child'))).toMatchObject({ ok: true, path: path.join(cats, 'child.yaml') });
    expect(bundle.files?.get(builtinCategoryKey('toxic'))).toMatchObject({ ok: true, path: path.join(cats, 'toxic.json'), data: [{ match: 'a|b' }] });
    // A relative category_file not under the bundle's directory is looked for under LiteLLM's content filter directory, as LiteLLM does.
    expect(bundle.files?.get(categoryFileKey('litellm/proxy/x/policy_templates/t.yaml'))).toMatchObject({ ok: true, path: path.join(dir, 'litellm_content_filter/policy_templates/t.yaml') });
    const without = await createBundleFileSource({ path: bundlePath }).load();
    expect(without.files?.has(builtinCategoryKey('child'))).toBe(false);
  });
});
