// Emitting JavaScript `v`-mode source.

import { MAXREPEAT, type At, type Cat, type Flags, type Node } from './ast.js';
import { folderFor, foldItems, hasCased, normalize } from './case.js';

// V8 before 11.8 (so Node 20) mis-matches a top-level negated class next to a literal inside a loop in
// `v` mode (`/^(?:[^b]a)+$/v` rejects "aa"; crbug 1474268). So no emitted class starts with `[^`:
// complements are explicit ranges, or `[\p{Any}--[...]]` when they involve categories.
const notIn = (cls: string): string => `[\\p{Any}--${cls}]`;
// str.isspace(): bidi classes WS/B/S plus Zs; note U+001C-U+001F and U+0085 are in, U+FEFF is out.
const SPACE =
  '[\\t-\\r\\u{1c}-\\u{20}\\u{85}\\u{a0}\\u{1680}\\u{2000}-\\u{200a}\\u{2028}\\u{2029}\\u{202f}\\u{205f}\\u{3000}]';
const WORD = '[\\p{L}\\p{N}_]';
const UNICODE_CATS: Readonly<Record<Cat, string>> = {
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: WORD,
  W: notIn(WORD),
  s: SPACE,
  S: notIn(SPACE),
};
const ASCII_CATS: Readonly<Record<Cat, string>> = {
  d: '[0-9]',
  D: notIn('[0-9]'),
  w: '[a-zA-Z0-9_]',
  W: notIn('[a-zA-Z0-9_]'),
  s: '[\\t-\\r\\u{20}]',
  S: notIn('[\\t-\\r\\u{20}]'),
};
const category = (cat: Cat, fl: Flags): string => (fl.a ? ASCII_CATS : UNICODE_CATS)[cat];

const SYNTAX_OUT = new Set('^$\\.*+?()[]{}|/');
const SYNTAX_IN = new Set('^$\\.*+?()[]{}|/&-!#%,:;<=>@`~');
const hexEscape = (cp: number): string => `\\u{${cp.toString(16)}}`;

function escOut(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (SYNTAX_OUT.has(ch)) return `\\${ch}`;
  return cp >= 0x20 && cp < 0x7f ? ch : hexEscape(cp);
}

function escIn(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (/^[A-Za-z0-9_]$/.test(ch)) return ch;
  return SYNTAX_IN.has(ch) ? `\\${ch}` : hexEscape(cp);
}

function complement(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let n = 0; n + 1 < ranges.length; n += 2) {
    if ((ranges[n] ?? 0) > next) out.push(next, (ranges[n] ?? 0) - 1);
    next = (ranges[n + 1] ?? 0) + 1;
  }
  if (next <= 0x10ffff) out.push(next, 0x10ffff);
  return out;
}

function emitSet(ranges: readonly number[], cats: readonly string[], neg: boolean): string {
  if (neg && cats.length > 0) return notIn(emitSet(ranges, cats, false));
  const members = neg ? complement(ranges) : ranges;
  const [lo, hi] = members;
  if (cats.length === 0 && members.length === 2 && lo !== undefined && lo === hi) return escOut(lo);
  const [cat] = cats;
  if (members.length === 0 && cats.length === 1 && cat !== undefined) return cat;
  let body = '';
  for (let n = 0; n + 1 < members.length; n += 2) {
    const a = members[n] ?? 0;
    const b = members[n + 1] ?? 0;
    body += a === b ? escIn(a) : b === a + 1 ? escIn(a) + escIn(b) : `${escIn(a)}-${escIn(b)}`;
  }
  return `[${body}${cats.join('')}]`;
}

function emitChar(n: Extract<Node, { k: 'lit' | 'in' | 'any' }>): string {
  if (n.k === 'any') return n.fl.s ? '\\p{Any}' : emitSet([0x0a, 0x0a], [], true);
  if (n.k === 'lit') {
    const folder = folderFor(n.fl);
    if (!n.fl.i || !folder.isCased(n.cp)) return emitSet([n.cp, n.cp], [], n.neg);
    return emitSet(foldItems([{ t: 'lit', cp: n.cp }], folder, true), [], n.neg);
  }
  const cats = n.items.flatMap((it) => (it.t === 'cat' ? [category(it.cat, n.fl)] : []));
  const folder = folderFor(n.fl);
  if (n.fl.i && hasCased(n.items, folder)) return emitSet(foldItems(n.items, folder, false), cats, n.neg);
  const pairs = n.items.flatMap((it) => (it.t === 'lit' ? [it.cp, it.cp] : it.t === 'range' ? [it.lo, it.hi] : []));
  return emitSet(normalize(pairs), cats, n.neg);
}

function emitAt(at: At, fl: Flags): string {
  const w = category('w', fl);
  switch (at) {
    case 'bol':
      return fl.m ? '(?<=^|\\n)' : '^';
    case 'eol':
      // Python's `$` also matches before a final newline; with MULTILINE only `\n` ends a line.
      return fl.m ? '(?=\\n|$)' : '(?=\\n?$)';
    case 'A':
      return '^';
    case 'Z':
      return '$';
    case 'b':
      return `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
    case 'B':
      // CPython's \B never matches in an empty string.
      return `(?:(?<=${w})(?=${w})|(?<!${w})(?!${w})(?!^$))`;
  }
}

function quantifier(min: number, max: number): string {
  if (max === MAXREPEAT) return min === 0 ? '*' : min === 1 ? '+' : `{${min},}`;
  if (min === 0 && max === 1) return '?';
  return min === max ? `{${min}}` : `{${min},${max}}`;
}

const ATOMS: ReadonlySet<Node['k']> = new Set(['lit', 'in', 'any', 'group', 'ref', 'alt']);

/** Writes parsed nodes as JS `v`-mode source; `referenced` lists the groups a backreference needs named. */
export class Emitter {
  private atomics = 0;
  // JS matches lookbehinds right to left, where the atomic emulation below would consume before capturing.
  private backward = false;

  constructor(private readonly referenced: ReadonlySet<number>) {}

  body(seq: readonly Node[]): string {
    const [only] = seq;
    if (seq.length === 1 && only?.k === 'alt') return only.alts.map((a) => this.seq(a)).join('|');
    return this.seq(seq);
  }

  private seq(seq: readonly Node[]): string {
    return seq.map((n) => this.node(n)).join('');
  }

  private node(n: Node): string {
    switch (n.k) {
      case 'lit':
      case 'in':
      case 'any':
        return emitChar(n);
      case 'at':
        return emitAt(n.at, n.fl);
      case 'alt':
        return `(?:${this.body([n])})`;
      case 'group':
        return n.id !== null && this.referenced.has(n.id)
          ? `(?<g${n.id}>${this.body(n.body)})`
          : `(?:${this.body(n.body)})`;
      case 'look': {
        const outer = this.backward;
        this.backward = n.behind;
        const body = this.body(n.body);
        this.backward = outer;
        return `(?${n.behind ? '<' : ''}${n.neg ? '!' : '='}${body})`;
      }
      case 'atomic':
        return this.atomic(this.body(n.body));
      case 'repeat': {
        const [one] = n.body;
        const single = n.body.length === 1 && one !== undefined && ATOMS.has(one.k);
        const quantified = (single ? this.node(one) : `(?:${this.seq(n.body)})`) + quantifier(n.min, n.max);
        if (n.mode === 'possessive') return this.atomic(quantified);
        return n.mode === 'lazy' ? `${quantified}?` : quantified;
      }
      case 'ref':
        return `\\k<g${n.id}>`;
      case 'cond':
        throw new Error('conditional groups are rejected before emission');
    }
  }

  // JS has no atomic groups; a lookahead is atomic, and the backreference consumes what it matched.
  // In a lookbehind Python requires every part to be fixed-width, and then atomicity changes nothing.
  private atomic(inner: string): string {
    if (this.backward) return `(?:${inner})`;
    this.atomics += 1;
    const name = `a${this.atomics}`;
    return `(?=(?<${name}>${inner}))\\k<${name}>`;
  }
}
