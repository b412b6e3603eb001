// Issue 11, defect 1: a differential fuzz of the regex guard. Random Python patterns from a small
// grammar (alternation, classes, optional, star, plus, counted repeats, groups, (?i)), seeded and
// deterministic, each judged by the safety check and then run on crafted subjects:
// - the check against reality, where the product trusts it: a pattern it calls linear runs
//   directly on models of any length (4096 characters at the wire), another it accepts directly on
//   models of up to DIRECT_MAX_MODEL_LENGTH. Those direct fullmatches must be quick. They run here
//   under a watchdog, so a miss fails the test instead of hanging it.
// - the product paths, for every pattern (accepted, or unsafe as compat mode runs it): a
//   condition's test on 4096-character models, and a content filter's check over long texts.
import { describe, expect, it } from 'vitest';
import { compileCondition, DIRECT_MAX_MODEL_LENGTH } from '../../src/compile/condition.js';
import { GUARDRAIL_KINDS } from '../../src/guardrails/index.js';
import type { GuardrailCheck, GuardrailInput } from '../../src/model/guardrail.js';
import { runBounded, TIMED_OUT } from '../../src/regex/safety/bounded.js';
import { compilePythonFullmatch } from '../../src/regex/python/python-regex.js';
import { analyzeRegexSafety } from '../../src/regex/safety/check.js';
import { seededRandom } from '../helpers/random.js';

const SEED = 20_261_111;
const PATTERNS = 2_500;
/** A direct fullmatch the check vouches for must take less than this (the worst seen is a few ms). */
const DIRECT_MAX_MS = 50;
/** A product path must answer within this, whatever the pattern (budgets are 20-250 ms). */
const PRODUCT_MAX_MS = 1_000;
const MODEL_LENGTH = 4_096;
const TEXT_LENGTH = 30_000;


const LITERALS = ['a', 'b', 'x', '-', '1', 'A'];
const CLASSES = ['[ab]', '[a-z]', '[^x]', '[a-z0-9]', '[0-9]', '.', r('\\d'), r('\\w'), r('\\s'), '[-a]'];
/** The characters subjects are made of: every literal, and members of every class. */
const ALPHABET = ['a', 'b', 'x', '-', '1', 'A', ' ', 'z', '9'];

function r(s: string): string {
  return s;
}

function generator(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const quantifier = (): string => {
    const roll = random();
    if (roll < 0.35) return '';
    if (roll < 0.5) return '?';
    if (roll < 0.62) return '*';
    if (roll < 0.74) return '+';
    const m = pick([0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 30]);
    const form = random();
    if (form < 0.4) return `{${Math.max(m, 1)}}`;
    if (form < 0.8) return `{${m},${m + int(0, 12)}}`;
    return `{${m},}`;
  };
  const atom = (depth: number): string => {
    const roll = random();
    if (depth < 3 && roll < 0.3) return `(${random() < 0.5 ? '?:' : ''}${alternation(depth + 1)})`;
    if (roll < 0.65) return pick(LITERALS);
    return pick(CLASSES);
  };
  const sequence = (depth: number): string => {
    let out = '';
    for (let n = int(1, depth === 0 ? 5 : 3); n > 0; n--) out += atom(depth) + quantifier();
    return out;
  };
  const alternation = (depth: number): string => {
    const branches = [sequence(depth)];
    while (branches.length < 3 && random() < 0.3) branches.push(sequence(depth));
    return branches.join('|');
  };
  const pattern = (): string => (random() < 0.25 ? '(?i)' : '') + sequence(0);
  /** A crafted subject: a short unit of pattern characters, pumped to `length`, and an ending that may fail. */
  const subject = (length: number): string => {
    let unit = '';
    for (let n = int(1, 3); n > 0; n--) unit += pick(ALPHABET);
    return unit.repeat(Math.ceil(length / unit.length)).slice(0, length - 1) + pick(['!', '\n', 'a', '=']);
  };
  return { pattern, subject };
}

/**
 * The time `fn` took in ms, and its result: its wall time, or the CPU time the process used meanwhile
 * when that is less. A backtracking regex uses the CPU for all of its wall time; on a loaded shared
 * machine a linear one can wait far longer for a core than it runs, and that wait is not its cost.
 */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const value = fn();
  const cpu = process.cpuUsage(cpuBefore);
  return { value, ms: Math.min(performance.now() - started, (cpu.user + cpu.system) / 1000) };
}

function filterCheck(pattern: string): GuardrailCheck | undefined {
  // Compat mode: unsafe patterns load, as they would for a migrated LiteLLM deployment.
  const build = GUARDRAIL_KINDS.get('litellm_content_filter')?.compile(
    { index: 0, name: 'cf', kind: 'litellm_content_filter', mode: 'pre_call', params: { guardrail: 'litellm_content_filter', patterns: [{ pattern_type: 'regex', pattern, action: 'MASK' }] } },
    { env: {}, mode: 'compat', report: () => undefined },
  );
  return build?.check; // undefined: the pattern matches the empty string (an error in both modes)
}

const input = (text: string): GuardrailInput => ({
  inputType: 'request',
  texts: [text],
  messages: [{ role: 'user', content: text }],
  context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] },
  requestId: '',
  signal: new AbortController().signal,
});

describe('regex guard: differential fuzz', () => {
  it(`runs ${PATTERNS} seeded random patterns in bounded time, direct where the check vouches, guarded elsewhere`, { timeout: 60_000 }, async () => {
    const random = seededRandom(SEED);
    const { pattern: nextPattern, subject } = generator(random);
    const stats = { patterns: 0, valid: 0, linear: 0, polynomial: 0, unsafe: 0, directRuns: 0, conditionRuns: 0, filterRuns: 0, filterErrors: 0 };
    const worst = { linearDirect: 0, polynomialDirect: 0, condition: 0, filter: 0 };
    const misses: string[] = [];
    for (let n = 0; n < PATTERNS; n++) {
      const pattern = nextPattern();
      stats.patterns++;
      const compiled = compilePythonFullmatch(pattern);
      if (!compiled.ok) continue;
      stats.valid++;
      const { unsafe, linear } = analyzeRegexSafety(pattern);
      if (unsafe !== undefined) stats.unsafe++;
      else if (linear) stats.linear++;
      else stats.polynomial++;

      // The check against reality, on the subjects the product would run directly.
      if (unsafe === undefined) {
        const length = linear ? MODEL_LENGTH : DIRECT_MAX_MODEL_LENGTH;
        for (let k = 0; k < 3; k++) {
          const s = subject(length);
          let { value, ms } = timed(() => runBounded(() => compiled.fullmatch(s), 1_000));
          // A real miss is slow every time; a stall of this shared machine is not.
          if (value !== TIMED_OUT && ms > DIRECT_MAX_MS) ({ value, ms } = timed(() => runBounded(() => compiled.fullmatch(s), 1_000)));
          stats.directRuns++;
          if (linear) worst.linearDirect = Math.max(worst.linearDirect, ms);
          else worst.polynomialDirect = Math.max(worst.polynomialDirect, ms);
          if (value === TIMED_OUT || ms > DIRECT_MAX_MS) misses.push(`${JSON.stringify(pattern)} (${linear ? 'linear' : 'degree 1'}) took ${ms.toFixed(1)} ms on ${JSON.stringify(s.slice(0, 12))}... of ${s.length}`);
        }
      }

      // The product paths, whatever the verdict.
      const condition = compileCondition({ model: pattern });
      for (let k = 0; k < 2; k++) {
        const s = subject(MODEL_LENGTH);
        const { ms } = timed(() => condition.test(s));
        stats.conditionRuns++;
        worst.condition = Math.max(worst.condition, ms);
        if (ms > PRODUCT_MAX_MS) misses.push(`condition ${JSON.stringify(pattern)} took ${ms.toFixed(0)} ms`);
      }
      if (n % 4 === 0) {
        const check = filterCheck(pattern);
        if (check !== undefined) {
          const started = performance.now();
          const verdict = await check(input(subject(TEXT_LENGTH)));
          const ms = performance.now() - started;
          stats.filterRuns++;
          if (verdict.outcome === 'error') stats.filterErrors++;
          worst.filter = Math.max(worst.filter, ms);
          if (ms > PRODUCT_MAX_MS) misses.push(`content filter ${JSON.stringify(pattern)} took ${ms.toFixed(0)} ms`);
        }
      }
    }
    const rounded = Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    console.log(`regex fuzz (seed ${SEED}): ${JSON.stringify(stats)}; worst ms ${JSON.stringify(rounded)}`);
    expect(misses).toEqual([]);
    expect(stats.valid).toBeGreaterThan(PATTERNS * 0.9);
    expect(stats.linear + stats.polynomial).toBeGreaterThan(PATTERNS / 4);
    expect(stats.unsafe).toBeGreaterThan(PATTERNS / 10);
  });
});
