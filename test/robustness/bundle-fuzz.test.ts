// Issue 11: nothing a bundle sends may make the control path throw or serve a partial snapshot.
// Seeded random mutations of valid bundles (examples/bundle.yaml and the test fixtures, as YAML and
// as JSON): each must either activate whole or be refused with issues, in both modes, through the
// parser, compile and the real Activator. A failure names its seed and mutations, to be replayed.
import fs from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Activator, type ActivationEvent } from '../../src/activation/activator.js';
import { SnapshotHolder } from '../../src/activation/holder.js';
import { compile, revisionOf, type CompileResult } from '../../src/compile/compile.js';
import { finish } from '../../src/steps.js';
import { resolve } from '../../src/engine/resolve.js';
import { PdpError } from '../../src/errors.js';
import type { Bundle } from '../../src/model/bundle.js';
import type { ValidationMode } from '../../src/model/policy.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { req } from '../helpers/snapshot.js';
import { seededRandom } from '../helpers/random.js';

const SEEDS: readonly (readonly [string, string])[] = [
  'examples/bundle.yaml',
  'test/fixtures/bundles/litellm-spec/bundle.yaml',
  'test/fixtures/bundles/http-guardrail/bundle.yaml',
].flatMap((file) => {
  const text = fs.readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  const json = JSON.stringify(parseBundleText(text, file).data, null, 1);
  return [[file, text], [file.replace(/\.yaml$/, '.json'), json]] as const;
});

/** Cases per seed file: thousands in all. */
const CASES_PER_SEED = 500;

/** A deterministic generator of integers below n (test/helpers/random.ts). */
function randomOf(seed: number): (n: number) => number {
  const random = seededRandom(seed);
  return (n) => Math.floor(random() * n);
}

const INJECTED = [':', '- ', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '!!python/object ', '#', "'", '"', '\t', '? ', '|', '>', '<<: ', '\\', '\u0000', 'é', '\u{1F600}', '~', 'null', 'yes', '0x1F', '1e400', ' ', '\r'];
const VALUES = ['null', '~', '[]', '{}', '""', '0', '-1', '3.5', 'yes', 'no', '[a, b]', '{a: 1}', '*', '"*"', 'gpt-4(', '(a+)+$', "'x'", '[[[]]]', '2024-01-01'];

type Mutation = (lines: string[], random: (n: number) => number) => string;

/** Each returns a description; `lines` is changed in place. */
const MUTATIONS: readonly Mutation[] = [
  (lines, r) => {
    const i = r(lines.length);
    lines.splice(i, 1);
    return `delete line ${i + 1}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    lines.splice(i, 0, lines[i] as string);
    return `duplicate line ${i + 1}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    lines.splice(i);
    return `truncate at line ${i + 1}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const line = lines[i] as string;
    const at = r(line.length + 1);
    lines[i] = line.slice(0, at);
    lines.splice(i + 1);
    return `truncate line ${i + 1} at column ${at + 1}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const line = lines[i] as string;
    const colon = line.indexOf(': ');
    const value = VALUES[r(VALUES.length)] as string;
    lines[i] = colon === -1 ? `${line.match(/^\s*(- )?/)?.[0] ?? ''}${value}` : `${line.slice(0, colon + 2)}${value}`;
    return `set the value of line ${i + 1} to ${value}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const delta = r(5) - 2;
    const line = lines[i] as string;
    lines[i] = delta > 0 ? `${' '.repeat(delta)}${line}` : line.slice(Math.min(-delta, line.length - line.trimStart().length));
    return `indent line ${i + 1} by ${delta}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const line = lines[i] as string;
    const at = r(line.length + 1);
    const s = INJECTED[r(INJECTED.length)] as string;
    lines[i] = `${line.slice(0, at)}${s}${line.slice(at)}`;
    return `inject ${JSON.stringify(s)} at line ${i + 1}, column ${at + 1}`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const line = lines[i] as string;
    const colon = line.indexOf(': ');
    if (colon === -1) return 'nest nothing';
    const depth = 1 + r(140);
    lines[i] = `${line.slice(0, colon + 2)}${'['.repeat(depth)}x${']'.repeat(depth)}`;
    return `nest line ${i + 1} ${depth} lists deep`;
  },
  (lines, r) => {
    // Many copies of a block of lines, each copy's first key renamed: big, still well within limits.
    const start = r(lines.length);
    const length = 1 + r(6);
    const block = lines.slice(start, start + length);
    const copies = 1 + r(300);
    const out: string[] = [];
    for (let c = 0; c < copies; c++) out.push(...block.map((l, j) => (j === 0 ? l.replace(/^(\s*)([\w-]+)(:)/, `$1$2-copy${c}$3`) : l)));
    lines.splice(start + length, 0, ...out);
    return `copy lines ${start + 1}-${start + length} ${copies} times`;
  },
  (lines, r) => {
    const i = r(lines.length);
    const j = r(lines.length);
    [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    return `swap lines ${i + 1} and ${j + 1}`;
  },
];

/** A mutated copy of `text`: 1 to 3 mutations, described. */
function mutate(text: string, random: (n: number) => number): { text: string; how: string[] } {
  const lines = text.split('\n');
  const how: string[] = [];
  for (let k = 1 + random(3); k > 0; k--) {
    if (lines.length === 0) break;
    how.push((MUTATIONS[random(MUTATIONS.length)] as Mutation)(lines, random));
  }
  return { text: lines.join('\n'), how };
}

/** How many policies and attachments the document names: what a whole snapshot must have. */
function documentCounts(data: unknown): { policies: number; attachments: number } {
  const d = (data ?? {}) as { policies?: unknown; policy_attachments?: unknown };
  const policies = d.policies !== null && typeof d.policies === 'object' && !Array.isArray(d.policies) ? Object.keys(d.policies).length : 0;
  return { policies, attachments: Array.isArray(d.policy_attachments) ? d.policy_attachments.length : 0 };
}

const CONTEXTS = [req(), req({ teamAlias: 'healthcare-team', model: 'gpt-4' }), req({ keyAlias: 'dev-key-1', model: 'claude-3-opus', tags: ['health-x'] })];

/** Checks one compile result: issues sorted and located, or a whole snapshot that answers. */
function checkCompiled(result: CompileResult, bundle: Bundle, mode: ValidationMode, where: string): void {
  if (!result.ok) {
    expect(result.issues.some((i) => i.severity === 'error'), `${where}: refused without an error`).toBe(true);
    return;
  }
  const counts = documentCounts(bundle.data);
  const s = result.snapshot;
  expect(s.revision, where).toBe(revisionOf(bundle.hash, mode));
  expect(s.policies.size, `${where}: every policy of the document`).toBe(counts.policies);
  expect(s.attachments.size, `${where}: every attachment of the document`).toBe(counts.attachments);
  for (const context of CONTEXTS) resolve(s, context);
  for (const p of s.policies.values()) {
    p.guardrailsFor(undefined);
    p.guardrailsFor('gpt-4');
    expect(p.chain.at(-1) ?? p.name, where).toBe(p.name);
  }
}

describe('seeded random mutations of valid bundles (issue 11)', () => {
  it(`activate whole or are refused with issues, never throw: ${SEEDS.length * CASES_PER_SEED} cases`, { timeout: 120_000 }, async () => {
    const started = performance.now();
    const tally = { cases: 0, unparseable: 0, refused: 0, compiled: 0, activated: 0, activationFailed: 0 };
    for (const [s, [file, original]] of SEEDS.entries()) {
      // One Activator per seed file, so the cases are also successive reloads (and meet the shrink guard).
      const holder = new SnapshotHolder();
      let current: Bundle = parseBundleText(original, file);
      const activator = new Activator({ source: { origin: file, load: async () => current }, holder, mode: 'compat', log: pino({ level: 'silent' }) });
      expect((await activator.activate()).kind).toBe('activated');
      for (let c = 0; c < CASES_PER_SEED; c++) {
        const seed = 1000 * s + c + 1;
        const { text, how } = mutate(original, randomOf(seed));
        const where = `${file} seed ${seed} (${how.join('; ')})`;
        tally.cases++;
        let bundle: Bundle;
        try {
          bundle = parseBundleText(text, file);
        } catch (e) {
          expect(e, `${where}: parse threw ${String(e)}`).toBeInstanceOf(PdpError);
          expect((e as PdpError).code, where).toBe('BUNDLE_INVALID');
          expect((e as PdpError).issues.length, `${where}: refused without an issue`).toBeGreaterThan(0);
          tally.unparseable++;
          continue;
        }
        for (const mode of ['strict', 'compat'] as const) {
          let result: CompileResult | undefined;
          expect(() => (result = finish(compile(bundle, { mode }))), `${where}: compile (${mode}) threw`).not.toThrow();
          checkCompiled(result as CompileResult, bundle, mode, `${where} (${mode})`);
          if (mode === 'compat') tally[(result as CompileResult).ok ? 'compiled' : 'refused']++;
        }
        current = bundle;
        const before = holder.current();
        const event: ActivationEvent = await activator.activate();
        if (event.kind === 'failed') {
          tally.activationFailed++;
          expect(event.error.code, `${where}: ${event.message}`).not.toBe('INTERNAL');
          expect(holder.current(), `${where}: a failed activation swapped`).toBe(before);
        } else {
          if (event.kind === 'activated') tally.activated++;
          expect(holder.current(), where).toBe(event.snapshot);
          expect(event.snapshot.revision, where).toBe(revisionOf(bundle.hash, 'compat'));
          const counts = documentCounts(bundle.data);
          expect(event.snapshot.policies.size, `${where}: served a partial snapshot`).toBe(counts.policies);
          expect(event.snapshot.attachments.size, `${where}: served a partial snapshot`).toBe(counts.attachments);
        }
      }
      await activator.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`bundle fuzz: ${JSON.stringify(tally)} in ${seconds.toFixed(1)} s`);
    expect(tally.cases).toBe(SEEDS.length * CASES_PER_SEED);
    // Every kind of outcome occurs: the mutations are neither all fatal nor all harmless.
    expect(tally.unparseable).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.activated).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(60);
  });
});
