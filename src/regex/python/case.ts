// Code point sets (flat sorted [lo0, hi0, lo1, hi1, ...]) and CPython's case-insensitive matching.

import type { Flags, Item } from './ast.js';

/** Sorts and merges `[lo, hi, ...]` pairs into a code point set. */
export function normalize(pairs: readonly number[]): number[] {
  const spans: [number, number][] = [];
  for (let n = 0; n + 1 < pairs.length; n += 2) spans.push([pairs[n] ?? 0, pairs[n + 1] ?? 0]);
  spans.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [lo, hi] of spans) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] ?? 0) + 1) out[last] = Math.max(out[last] ?? 0, hi);
    else out.push(lo, hi);
  }
  return out;
}

function contains(set: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = set.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (set[2 * mid] ?? 0)) hi = mid - 1;
    else if (cp > (set[2 * mid + 1] ?? 0)) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Index of the first element of sorted `list` that is >= cp. */
function lowerBound(list: readonly number[], cp: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] ?? 0) < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One mode's case mapping, with the lookup tables folding needs. */
export interface Folder {
  lower(cp: number): number;
  upper(cp: number): number;
  isCased(cp: number): boolean;
  /** Sorted code points whose lowercase differs from themselves. */
  readonly changed: readonly number[];
  /** Sorted code points CPython considers cased (lower or upper differs). */
  readonly cased: readonly number[];
  /** CPython's `_EXTRA_CASES` as equivalence classes of lowercase code points. */
  readonly fixGroups: readonly (readonly number[])[];
}

const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, n) => lo + n);

const ASCII_FOLDER: Folder = {
  lower: (cp) => (cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp),
  upper: (cp) => (cp >= 0x61 && cp <= 0x7a ? cp - 0x20 : cp),
  isCased: (cp) => (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a),
  changed: range(0x41, 0x5a),
  cased: [...range(0x41, 0x5a), ...range(0x61, 0x7a)],
  fixGroups: [],
};

// re._casefix._EXTRA_CASES (identical in 3.11, 3.12 and 3.13): lowercase letters sharing an uppercase.
const FIX_GROUPS: readonly (readonly number[])[] = [
  [0x69, 0x131], [0x73, 0x17f], [0xb5, 0x3bc], [0x345, 0x3b9, 0x1fbe], [0x390, 0x1fd3], [0x3b0, 0x1fe3],
  [0x3b2, 0x3d0], [0x3b5, 0x3f5], [0x3b8, 0x3d1], [0x3ba, 0x3f0], [0x3c0, 0x3d6], [0x3c1, 0x3f1],
  [0x3c2, 0x3c3], [0x3c6, 0x3d5], [0x432, 0x1c80], [0x434, 0x1c81], [0x43e, 0x1c82], [0x441, 0x1c83],
  [0x442, 0x1c84, 0x1c85], [0x44a, 0x1c86], [0x463, 0x1c87], [0x1c88, 0xa64b], [0x1e61, 0x1e9b], [0xfb05, 0xfb06],
];

let unicodeFolder: Folder | undefined;

// Built on first use (~100k case lookups) so patterns without (?i) never pay for it.
function getUnicodeFolder(): Folder {
  if (unicodeFolder !== undefined) return unicodeFolder;
  const lowerMap = new Map<number, number>();
  const upperMap = new Map<number, number>();
  const changed: number[] = [];
  const cased: number[] = [];
  // No code point above plane 1 has a case mapping.
  for (let cp = 0; cp < 0x20000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    const lowered = ch.toLowerCase();
    // CPython uses simple mappings; U+0130 is the only code point whose full lowercase is longer.
    const lo = cp === 0x130 ? 0x69 : (lowered.codePointAt(0) ?? cp);
    // CPython's "upper" is the first code point of the full uppercase (so ß counts as cased).
    const up = ch.toUpperCase().codePointAt(0) ?? cp;
    if (lo !== cp) {
      lowerMap.set(cp, lo);
      changed.push(cp);
    }
    if (up !== cp) upperMap.set(cp, up);
    if (lo !== cp || up !== cp) cased.push(cp);
  }
  const casedSet = new Set(cased);
  unicodeFolder = {
    lower: (cp) => lowerMap.get(cp) ?? cp,
    upper: (cp) => upperMap.get(cp) ?? cp,
    isCased: (cp) => casedSet.has(cp),
    changed,
    cased,
    fixGroups: FIX_GROUPS,
  };
  return unicodeFolder;
}

/** The case folder for a node's flags: ASCII-only under `(?a)`, else Unicode. */
export const folderFor = (fl: Flags): Folder => (fl.a ? ASCII_FOLDER : getUnicodeFolder());

/** Whether CPython would treat the class `items` as cased, and so fold it under `(?i)`. */
export function hasCased(items: readonly Item[], folder: Folder): boolean {
  return items.some((it) => {
    // CPython's BMP charmap overflows on astral members and then assumes the set is cased.
    if (it.t === 'lit') return it.cp > 0xffff || folder.isCased(it.cp);
    if (it.t === 'cat') return false;
    return it.hi > 0xffff || (folder.cased[lowerBound(folder.cased, it.lo)] ?? Infinity) <= it.hi;
  });
}

/**
 * The code points c whose lowercase is in the set CPython's `IN_UNI_IGNORE`/`IN_IGNORE` would build from
 * `items`. That set is a charmap of lowered BMP members; what overflows it is compared as CPython does:
 * astral literals unlowered (so `(?i)[𐐀x]` never matches 𐐀), and ranges reaching past U+FFFF by
 * "x in range or x.upper() in range", with Unicode case rules even in ASCII mode.
 */
export function foldItems(items: readonly Item[], folder: Folder, lowerAstral: boolean): number[] {
  const pairs: number[] = [];
  for (const it of items) {
    if (it.t === 'lit') {
      pairs.push(it.cp, it.cp);
      if (it.cp <= 0xffff || lowerAstral) pairs.push(folder.lower(it.cp), folder.lower(it.cp));
    } else if (it.t === 'range') {
      const bmpHi = Math.min(it.hi, 0xffff);
      pairs.push(it.lo, it.hi);
      for (let n = lowerBound(folder.changed, it.lo); (folder.changed[n] ?? Infinity) <= bmpHi; n++) {
        const l = folder.lower(folder.changed[n] ?? 0);
        pairs.push(l, l);
      }
      if (it.hi > 0xffff) {
        const unicode = getUnicodeFolder();
        for (const cp of unicode.cased) {
          const up = unicode.upper(cp);
          if (up >= it.lo && up <= it.hi) pairs.push(cp, cp);
        }
      }
    }
  }
  const lowered = normalize(pairs);
  for (const group of folder.fixGroups) {
    if (group.some((cp) => contains(lowered, cp))) for (const cp of group) pairs.push(cp, cp);
  }
  const allowed = normalize(pairs);
  // Every c outside `changed` is its own lowercase; the others are in when their lowercase is.
  const out: number[] = [];
  let n = 0;
  for (let r = 0; r + 1 < allowed.length; r += 2) {
    let start = allowed[r] ?? 0;
    const hi = allowed[r + 1] ?? 0;
    while ((folder.changed[n] ?? Infinity) < start) n++;
    for (; (folder.changed[n] ?? Infinity) <= hi; n++) {
      const c = folder.changed[n] ?? 0;
      if (c > start) out.push(start, c - 1);
      start = c + 1;
    }
    if (start <= hi) out.push(start, hi);
  }
  for (const c of folder.changed) if (contains(allowed, folder.lower(c))) out.push(c, c);
  return normalize(out);
}
