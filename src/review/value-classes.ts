/**
 * The classes one scope dimension (teams, keys, models or tags) splits its values into, given
 * every pattern of that dimension (semantics §3): two values are alike when every pattern matches
 * both or neither. A trailing-`*` pattern is a prefix test and any other pattern is exact, so a
 * value's class is fixed by whether it is one of the exact values and by the longest prefix it
 * starts with (the prefixes a value starts with are nested). The classes are:
 * - `=v`: the exact value v;
 * - `^p`: values starting with p, but with no longer prefix and not an exact value (written `p*`);
 * - `o`: values no pattern singles out (written `(other)`); for teams and keys a missing value is
 *   alike (it too matches only lists holding `*`), for models it is not (conditions, §2), so
 * - `m`: the missing value (models only; written `(unset)`).
 * The pattern `*` alone singles nothing out and adds no class.
 */
export type ClassKey = string;

export const OTHER: ClassKey = 'o';
export const MISSING: ClassKey = 'm';

export class DimensionClasses {
  readonly #exact = new Set<string>();
  readonly #prefixes = new Set<string>();
  #sortedExact: string[] | undefined;
  #sortedPrefixes: string[] | undefined;
  /** The distinct prefix lengths, longest first: classOf tries only these. */
  #prefixLengths: number[] | undefined;
  readonly #witnesses = new Map<ClassKey, string>();

  /** Adds the patterns of one attachment's list. */
  add(patterns: readonly string[]): void {
    for (const p of patterns) {
      if (p === '*') continue;
      if (p.endsWith('*')) this.#prefixes.add(p.slice(0, -1));
      else this.#exact.add(p);
    }
    this.#sortedExact = this.#sortedPrefixes = undefined;
    this.#prefixLengths = undefined;
    this.#witnesses.clear();
  }

  /** Number of classes other than `o` and `m`. */
  get size(): number {
    return this.#exact.size + this.#prefixes.size;
  }

  /** Every class other than `o` and `m`: exact values, then prefixes, each sorted. */
  classes(): ClassKey[] {
    return [...this.#sorted().exact.map((v) => `=${v}`), ...this.#sorted().prefixes.map((p) => `^${p}`)];
  }

  /** The class of a value (undefined: missing, `m`). */
  classOf(value: string | undefined): ClassKey {
    if (value === undefined) return MISSING;
    if (this.#exact.has(value)) return `=${value}`;
    if (this.#prefixes.size > 0) {
      this.#prefixLengths ??= [...new Set([...this.#prefixes].map((p) => p.length))].sort((a, b) => b - a);
      for (const n of this.#prefixLengths) {
        if (n > value.length) continue;
        const p = value.slice(0, n);
        if (this.#prefixes.has(p)) return `^${p}`;
      }
    }
    return OTHER;
  }

  /**
   * The classes a pattern list matches (what an attachment's list admits): for an exact pattern its
   * value; for a prefix p the class `^p` and every exact value and longer prefix starting with p.
   * `*` admits every class; the caller decides what that means (it returns [`o`]).
   */
  classesWithin(patterns: readonly string[]): ClassKey[] {
    if (patterns.includes('*')) return [OTHER];
    const out = new Set<ClassKey>();
    const { exact, prefixes } = this.#sorted();
    for (const p of patterns) {
      if (!p.endsWith('*')) {
        out.add(`=${p}`);
        continue;
      }
      const prefix = p.slice(0, -1);
      for (const v of startingWith(exact, prefix)) out.add(`=${v}`);
      for (const q of startingWith(prefixes, prefix)) out.add(`^${q}`);
    }
    return [...out];
  }

  /**
   * A concrete value of the class: for `^p`, p plus a short suffix that no longer prefix and no
   * exact value claims (`health-*` gives `health-x`); for `o`, a fresh value no pattern matches;
   * `m` gives undefined.
   */
  witness(key: ClassKey): string | undefined {
    if (key === MISSING) return undefined;
    if (key.startsWith('=')) return key.slice(1);
    let w = this.#witnesses.get(key);
    if (w === undefined) {
      w = key === OTHER ? this.#fresh('', ['zz-other', '~other']) : this.#fresh(key.slice(1), ['x', 'y', '_']);
      this.#witnesses.set(key, w);
    }
    return w;
  }

  /** How a class is written in a report: `v`, `p*`, `(other)`, `(unset)`. */
  static label(key: ClassKey): string {
    if (key === OTHER) return '(other)';
    if (key === MISSING) return '(unset)';
    return key.startsWith('=') ? key.slice(1) : `${key.slice(1)}*`;
  }

  /** A value starting with `prefix` whose class is `^prefix` (or `o` for prefix ''). */
  #fresh(prefix: string, suffixes: readonly string[]): string {
    const want = prefix === '' ? OTHER : `^${prefix}`;
    for (let n = 0; n < 20; n++) {
      for (const s of suffixes) {
        const candidate = `${prefix}${s}${n === 0 ? '' : n}`;
        if (this.classOf(candidate) === want) return candidate;
      }
    }
    // Crafted pattern sets can claim every short suffix; some character starts no pattern (there are finitely many).
    for (let code = 0x21; ; code++) {
      const candidate = `${prefix}${String.fromCodePoint(code)}`;
      if (this.classOf(candidate) === want) return candidate;
    }
  }

  #sorted(): { exact: string[]; prefixes: string[] } {
    this.#sortedExact ??= [...this.#exact].sort();
    this.#sortedPrefixes ??= [...this.#prefixes].sort();
    return { exact: this.#sortedExact, prefixes: this.#sortedPrefixes };
  }
}

/** The entries of a sorted list that start with `prefix` (a binary search, then a scan of the range). */
function startingWith(sorted: readonly string[], prefix: string): string[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < prefix) lo = mid + 1;
    else hi = mid;
  }
  const out: string[] = [];
  for (let i = lo; i < sorted.length && (sorted[i] as string).startsWith(prefix); i++) out.push(sorted[i] as string);
  return out;
}
