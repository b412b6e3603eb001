import { describe, expect, it } from 'vitest';
import { createKeywordMatcher } from '../../../src/guardrails/content-filter/keywords.js';
import { seededRandom } from '../../helpers/random.js';

/** What the matcher must agree with: a substring test per keyword. */
function naivePresent(keywords: readonly string[], text: string): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  keywords.forEach((k, i) => {
    if (k !== '' && !seen.has(k) && text.includes(k)) out.push(i);
    seen.add(k);
  });
  return out;
}


function randomWord(rand: () => number, alphabet: string, maxLength: number): string {
  const length = 1 + Math.floor(rand() * maxLength);
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

describe('createKeywordMatcher', () => {
  it('finds every keyword that occurs, including ones inside and overlapping others', () => {
    const m = createKeywordMatcher(['he', 'she', 'his', 'hers', 'absent']);
    expect(m.allPresent('ushers')).toEqual([0, 1, 3]);
    expect(m.allPresent('this')).toEqual([2]);
    expect(m.allPresent('nothing here matches? "he" does')).toEqual([0]);
    expect(m.allPresent('xyz')).toEqual([]);
  });

  it('matches substrings, not words: a keyword inside a longer word counts', () => {
    const m = createKeywordMatcher(['class']);
    expect(m.firstPresent('this is classified')).toBe(0);
  });

  it('returns the smallest present index at or after minIndex', () => {
    const m = createKeywordMatcher(['alpha', 'beta', 'gamma', 'beta']);
    const text = 'gamma then beta then alpha';
    expect(m.firstPresent(text)).toBe(0);
    expect(m.firstPresent(text, 1)).toBe(1);
    expect(m.firstPresent(text, 2)).toBe(2);
    expect(m.firstPresent(text, 3)).toBe(-1);
    expect(m.firstPresent('no greek here')).toBe(-1);
  });

  it('reports a duplicated keyword under its first index only', () => {
    const m = createKeywordMatcher(['dup', 'other', 'dup']);
    expect(m.allPresent('a dup')).toEqual([0]);
    expect(m.size).toBe(3);
  });

  it('never reports an empty keyword', () => {
    const m = createKeywordMatcher(['', 'x']);
    expect(m.allPresent('abc')).toEqual([]);
    expect(m.allPresent('x')).toEqual([1]);
  });

  it('matches exact code units, so case folding is up to the caller', () => {
    const m = createKeywordMatcher(['secret']);
    expect(m.firstPresent('SECRET')).toBe(-1);
    expect(m.firstPresent('SECRET'.toLowerCase())).toBe(0);
  });

  it('handles non-ASCII keywords and astral characters', () => {
    const m = createKeywordMatcher(['données', '🔑key', '秘密']);
    expect(m.allPresent('les données et 秘密 et 🔑key')).toEqual([0, 1, 2]);
    expect(m.allPresent('🔑ke')).toEqual([]);
  });

  it('gives the same answers on repeated scans (no state leaks between scans)', () => {
    const m = createKeywordMatcher(['aa', 'aaa', 'b']);
    for (let i = 0; i < 3; i++) {
      expect(m.allPresent('aaaa')).toEqual([0, 1]);
      expect(m.allPresent('b')).toEqual([2]);
    }
  });

  it('agrees with a substring test per keyword on random keyword sets and texts', () => {
    const rand = seededRandom(42);
    for (let round = 0; round < 300; round++) {
      const alphabet = round % 2 === 0 ? 'ab' : 'abcde';
      const keywords = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => randomWord(rand, alphabet, 5));
      const m = createKeywordMatcher(keywords);
      for (let t = 0; t < 5; t++) {
        const text = randomWord(rand, alphabet + ' ', 40);
        const expected = naivePresent(keywords, text);
        expect(m.allPresent(text), `${JSON.stringify(keywords)} in ${JSON.stringify(text)}`).toEqual(expected);
        const minIndex = Math.floor(rand() * keywords.length);
        expect(m.firstPresent(text, minIndex)).toBe(expected.find((i) => i >= minIndex) ?? -1);
      }
    }
  });

  it('handles 1,000 keywords over a 2 KB text, agreeing with a substring test', () => {
    const rand = seededRandom(7);
    const keywords = Array.from({ length: 1000 }, (_, i) => `${randomWord(rand, 'abcdefghijklmnopqrstuvwxyz', 8)}${i % 10}`);
    const words = Array.from({ length: 300 }, () => randomWord(rand, 'abcdefghijklmnopqrstuvwxyz0123456789', 8));
    const text = `${words.join(' ')} ${keywords[500]} ${keywords[999]}`.slice(-2048);
    const m = createKeywordMatcher(keywords);
    expect(m.allPresent(text)).toEqual(naivePresent(keywords, text));
    expect(m.allPresent(text)).toContain(999);
  });

  it('agrees with a substring test for a keyword set too large for the dense table (per-state maps)', () => {
    const rand = seededRandom(99);
    const keywords = Array.from({ length: 30_000 }, () => randomWord(rand, 'abcdefghijklmnopqrstuvwxyz', 12));
    const m = createKeywordMatcher(keywords);
    for (let t = 0; t < 20; t++) {
      const text = Array.from({ length: 60 }, () => randomWord(rand, 'abcdefghijklmnopqrstuvwxyz', 6)).join(' ');
      expect(m.allPresent(text)).toEqual(naivePresent(keywords, text));
    }
  });
});
