// Character classes as bitsets over a small per-pattern universe of witness code points, so the
// ambiguity analysis can ask "can these two positions match the same character?" in a few word ANDs.

import type { Cat, Node } from '../python/ast.js';
import { type Folder, foldItems, folderFor, hasCased, normalize } from '../python/case.js';

/** A set of witness indexes (bit n = the universe's n-th code point is a member). */
export type Bits = Uint32Array;

type Leaf = Extract<Node, { k: 'lit' | 'in' | 'any' }>;

// Beyond Latin-1, members of the categories and case pairs that differ between Python and a naive
// reading: other-script digits, letters, numbers, spaces, case-folding oddities, astral characters.
const REPRESENTATIVES = [
  0x131, 0x130, 0x17f, 0x1c5, 0x2160, 0x212a, 0x212b, 0x3a3, 0x3c2, 0x3c3, 0x414, 0x434, 0x5d0, 0x627,
  0x660, 0x663, 0x6f3, 0x966, 0xe50, 0x1680, 0x2000, 0x200a, 0x200b, 0x2028, 0x2029, 0x202f, 0x205f,
  0x2070, 0x2153, 0x3000, 0x3042, 0x4e2d, 0xfeff, 0xff10, 0xff21, 0xff41, 0xfffd, 0x10000, 0x10400,
  0x10428, 0x1d7ce, 0x1f600, 0x10fffe, 0x10ffff,
];

const BASE: readonly number[] = [...new Set([...Array.from({ length: 0x100 }, (_, cp) => cp), ...REPRESENTATIVES])].sort(
  (a, b) => a - b,
);
const BASE_SET: ReadonlySet<number> = new Set(BASE);
const CATEGORY: Readonly<Record<string, RegExp>> = {
  d: /^\p{Nd}$/u,
  w: /^[\p{L}\p{N}_]$/u,
  s: /^[\t-\r\u{1c}-\u{20}\u{85}\u{a0}\u{1680}\u{2000}-\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}]$/u,
  ad: /^[0-9]$/,
  aw: /^[a-zA-Z0-9_]$/,
  as: /^[\t-\r ]$/,
};

function inCategory(cat: Cat, ascii: boolean, cp: number): boolean {
  const re = CATEGORY[(ascii ? 'a' : '') + cat.toLowerCase()];
  const hit = re?.test(String.fromCodePoint(cp)) === true;
  return cat === cat.toLowerCase() ? hit : !hit;
}

// Membership of every base witness in each category (Unicode or ASCII), computed on first use: the
// same for every pattern, so it is shared.
const BASE_CATEGORY = new Map<string, readonly boolean[]>();

function baseCategory(cat: Cat, ascii: boolean): readonly boolean[] {
  const key = `${ascii ? 'a' : ''}${cat}`;
  let table = BASE_CATEGORY.get(key);
  if (table === undefined) {
    table = BASE.map((cp) => inCategory(cat, ascii, cp));
    BASE_CATEGORY.set(key, table);
  }
  return table;
}

/** Merges two sorted lists. */
function merge(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i] ?? 0) < (b[j] ?? 0))) out.push(a[i++] ?? 0);
    else out.push(b[j++] ?? 0);
  }
  return out;
}

/** Whether a flat sorted `[lo, hi, ...]` set contains cp. */
function inSet(set: readonly number[], cp: number): boolean {
  for (let n = 0; n + 1 < set.length; n += 2) if ((set[n] ?? 0) <= cp && cp <= (set[n + 1] ?? 0)) return true;
  return false;
}

/** A leaf as the emitter sees it: code point ranges (case-folded under `(?i)`), categories, negation. */
interface Shape {
  readonly ranges: readonly number[];
  /** A case-insensitive literal: c is a member iff the folder lowercases it into this set (as CPython). */
  readonly lowered?: { readonly set: readonly number[]; readonly folder: Folder };
  readonly cats: readonly Cat[];
  readonly ascii: boolean;
  readonly neg: boolean;
}

// Mirrors the emitter's `emitChar`, so the analysis sees exactly the set V8 will match.
function shapeOf(leaf: Leaf): Shape {
  const ascii = leaf.fl.a;
  if (leaf.k === 'any') return { ranges: leaf.fl.s ? [0, 0x10ffff] : [0, 0x09, 0x0b, 0x10ffff], cats: [], ascii, neg: false };
  const folder = folderFor(leaf.fl);
  if (leaf.k === 'lit') {
    if (!leaf.fl.i || !folder.isCased(leaf.cp)) return { ranges: [leaf.cp, leaf.cp], cats: [], ascii, neg: leaf.neg };
    // foldItems' first half for one literal; its second half (a scan of every cased code point) is
    // what makes it slow, and membership of a witness is just "its lowercase is in the set".
    const pairs = [leaf.cp, leaf.cp, folder.lower(leaf.cp), folder.lower(leaf.cp)];
    const lowered = normalize(pairs);
    for (const group of folder.fixGroups) if (group.some((cp) => inSet(lowered, cp))) for (const cp of group) pairs.push(cp, cp);
    return { ranges: [], lowered: { set: normalize(pairs), folder }, cats: [], ascii, neg: leaf.neg };
  }
  const cats = leaf.items.flatMap((it) => (it.t === 'cat' ? [it.cat] : []));
  if (leaf.fl.i && hasCased(leaf.items, folder)) return { ranges: foldItems(leaf.items, folder, false), cats, ascii, neg: leaf.neg };
  const pairs = leaf.items.flatMap((it) => (it.t === 'lit' ? [it.cp, it.cp] : it.t === 'range' ? [it.lo, it.hi] : []));
  return { ranges: normalize(pairs), cats, ascii, neg: leaf.neg };
}

/**
 * The code points whose membership decides every intersection this pattern's classes can have: all
 * of Latin-1, fixed representatives of the Unicode categories, and both ends (and neighbours) of
 * every range the pattern's classes are made of. Exact for literals and ranges; for a Unicode
 * category against a range beyond Latin-1 it relies on the representatives.
 */
export class Universe {
  private readonly points: readonly number[];
  private readonly shapes = new Map<Leaf, Shape>();
  private readonly categories = new Map<string, Bits>();
  private readonly lowerIndex = new Map<Folder, ReadonlyMap<number, readonly number[]>>();

  constructor(leaves: Iterable<Leaf>) {
    const extra = new Set<number>();
    for (const leaf of leaves) {
      const shape = shapeOf(leaf);
      this.shapes.set(leaf, shape);
      const add = (c: number): void => {
        if (c >= 0 && c <= 0x10ffff && !BASE_SET.has(c)) extra.add(c);
      };
      for (const end of shape.ranges) [end - 1, end, end + 1].forEach(add);
      for (const cp of shape.lowered?.set ?? []) [cp, shape.lowered?.folder.upper(cp) ?? cp].forEach(add);
    }
    this.points = extra.size === 0 ? BASE : merge(BASE, [...extra].sort((a, b) => a - b));
  }

  /** Number of 32-bit words in each bitset. */
  get words(): number {
    return (this.points.length + 31) >>> 5;
  }

  /** The members of one leaf (literal, class or dot) among the witnesses. */
  classOf(leaf: Leaf): Bits {
    const shape = this.shapes.get(leaf) ?? shapeOf(leaf);
    const bits = new Uint32Array(this.words);
    for (let n = 0; n + 1 < shape.ranges.length; n += 2) this.setRange(bits, shape.ranges[n] ?? 0, shape.ranges[n + 1] ?? 0);
    const lowered = shape.lowered;
    if (lowered !== undefined) {
      const byLower = this.byLower(lowered.folder);
      for (let r = 0; r + 1 < lowered.set.length; r += 2) {
        for (let cp = lowered.set[r] ?? 0; cp <= (lowered.set[r + 1] ?? -1); cp++) {
          for (const n of byLower.get(cp) ?? []) bits[n >>> 5] = (bits[n >>> 5] ?? 0) | (1 << (n & 31));
        }
      }
    }
    for (const c of shape.cats) {
      const cat = this.category(c, shape.ascii);
      for (let w = 0; w < bits.length; w++) bits[w] = (bits[w] ?? 0) | (cat[w] ?? 0);
    }
    if (shape.neg) this.invert(bits);
    return bits;
  }

  /** Every witness. */
  all(): Bits {
    const bits = new Uint32Array(this.words);
    this.setRange(bits, 0, 0x10ffff);
    return bits;
  }

  // Witness indexes by their lowercase, per folder (ASCII or Unicode), built on first use.
  private byLower(folder: Folder): ReadonlyMap<number, readonly number[]> {
    const hit = this.lowerIndex.get(folder);
    if (hit !== undefined) return hit;
    const map = new Map<number, number[]>();
    this.points.forEach((cp, n) => {
      const l = folder.lower(cp);
      const list = map.get(l);
      if (list === undefined) map.set(l, [n]);
      else list.push(n);
    });
    this.lowerIndex.set(folder, map);
    return map;
  }

  private category(cat: Cat, ascii: boolean): Bits {
    const key = `${ascii ? 'a' : ''}${cat}`;
    const hit = this.categories.get(key);
    if (hit !== undefined) return hit;
    const base = baseCategory(cat, ascii);
    const bits = new Uint32Array(this.words);
    let b = 0;
    this.points.forEach((cp, n) => {
      while (b < BASE.length && (BASE[b] ?? 0) < cp) b++;
      const member = BASE[b] === cp ? base[b] === true : inCategory(cat, ascii, cp);
      if (member) bits[n >>> 5] = (bits[n >>> 5] ?? 0) | (1 << (n & 31));
    });
    this.categories.set(key, bits);
    return bits;
  }

  /** Index of the first witness >= cp. */
  private lowerBound(cp: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] ?? 0) < cp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private setRange(bits: Bits, lo: number, hi: number): void {
    for (let n = this.lowerBound(lo); n < this.points.length && (this.points[n] ?? 0) <= hi; n++) {
      bits[n >>> 5] = (bits[n >>> 5] ?? 0) | (1 << (n & 31));
    }
  }

  // Only the bits of real witnesses are set, so two complements never meet on a phantom bit.
  private invert(bits: Bits): void {
    for (let w = 0; w < bits.length; w++) bits[w] = ~(bits[w] ?? 0) >>> 0;
    const tail = this.points.length & 31;
    if (tail !== 0) bits[bits.length - 1] = (bits[bits.length - 1] ?? 0) & ((1 << tail) - 1);
  }
}

/** The union of bitsets (a new one). */
export function unionOf(sets: readonly Bits[], words: number): Bits {
  const out = new Uint32Array(words);
  for (const s of sets) for (let w = 0; w < words; w++) out[w] = (out[w] ?? 0) | (s[w] ?? 0);
  return out;
}

/** True when every set shares at least one witness. */
export function intersects(a: Bits, b: Bits, c?: Bits): boolean {
  for (let w = 0; w < a.length; w++) {
    if (((a[w] ?? 0) & (b[w] ?? 0) & (c === undefined ? 0xffffffff : (c[w] ?? 0))) !== 0) return true;
  }
  return false;
}
