// Port of CPython 3.11/3.12 `re._parser` (plus the checks `re._compiler` makes) for a str pattern with no
// flags argument. Function and message names follow CPython so the two can be compared side by side.

import { MAXREPEAT, type At, type Cat, type Flags, type Item, type Node } from './ast.js';
import { ReError, Unsupportable } from './errors.js';
import { Source } from './tokenizer.js';
import { type Width, widthOf } from './width.js';

const MAXCODE = 4294967295;
// Two levels per group: CPython's own recursion limit gives out near 450 nested groups; stop at 200.
const MAX_NESTING = 400;

const SPECIAL_CHARS = new Set('.\\[{()*+?^$|');
const DIGITS = new Set('0123456789');
const OCTDIGITS = new Set('01234567');
const HEXDIGITS = new Set('0123456789abcdefABCDEF');
const WHITESPACE = new Set(' \t\n\r\v\f');
const FLAG_CHARS = new Set('iLmsxatu');
const TYPE_FLAGS = new Set('aLu');
const ESCAPES: ReadonlyMap<string, number> = new Map([
  ['a', 7], ['b', 8], ['f', 12], ['n', 10], ['r', 13], ['t', 9], ['v', 11], ['\\', 92],
]);
const CATEGORIES = new Set('dDsSwW');
const isAsciiLetter = (c: string): boolean => /^[A-Za-z]$/.test(c);
const isIdentifier = (s: string): boolean => /^[\p{XID_Start}_]\p{XID_Continue}*$/u.test(s);
const cpOf = (tok: string): number => tok.codePointAt(0) ?? 0;
// `\N{...}` is valid Python but needs the Unicode name database; this placeholder never reaches the emitter.
const UNKNOWN_CP = -1;

const NO_FLAGS: Flags = { i: false, m: false, s: false, x: false, a: false };

const lit = (cp: number, fl: Flags): Node => ({ k: 'lit', cp, neg: false, fl });

function uniq(items: readonly Item[]): Item[] {
  const seen = new Set<string>();
  return items.filter((it) => {
    const key = it.t === 'lit' ? `l${it.cp}` : it.t === 'range' ? `r${it.lo}-${it.hi}` : `c${it.cat}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Python compares parsed items as tuples; those holding subpatterns compare by identity, so never equal.
function sameNode(a: Node, b: Node): boolean {
  if (a.k === 'lit' && b.k === 'lit') return a.cp === b.cp && a.neg === b.neg;
  if (a.k === 'in' && b.k === 'in') {
    return a.neg === b.neg && a.items.length === b.items.length && a.items.every((x, n) => sameItem(x, b.items[n]));
  }
  if (a.k === 'at' && b.k === 'at') return a.at === b.at;
  if (a.k === 'ref' && b.k === 'ref') return a.id === b.id;
  return a.k === 'any' && b.k === 'any';
}

function sameItem(a: Item, b: Item | undefined): boolean {
  if (b === undefined || a.t !== b.t) return false;
  if (a.t === 'lit' && b.t === 'lit') return a.cp === b.cp;
  if (a.t === 'range' && b.t === 'range') return a.lo === b.lo && a.hi === b.hi;
  return a.t === 'cat' && b.t === 'cat' && a.cat === b.cat;
}

/**
 * Parses a pattern into nodes. Throws ReError where Python raises `re.error` and Unsupportable where it
 * raises something else; `unsupported` collects valid constructs the translation cannot follow.
 */
export class Parser {
  readonly unsupported: string[] = [];
  private readonly src: Source;
  private gflags: Flags = NO_FLAGS;
  private sawAscii = false;
  private sawUnicode = false;
  readonly groupWidths: (Width | null)[] = [null];
  private readonly groupNames = new Map<string, number>();
  private lookbehindGroups: number | null = null;
  private readonly condRefs: number[] = [];

  constructor(pattern: string) {
    this.src = new Source(Array.from(pattern));
  }

  private get groups(): number {
    return this.groupWidths.length;
  }

  parse(): Node[] {
    const items = this.parseSub(this.gflags, 0);
    if (this.sawAscii && this.sawUnicode) {
      throw new Unsupportable('Python raises ValueError (not re.error): ASCII and UNICODE flags are incompatible');
    }
    if (this.src.next !== null) throw new ReError('unbalanced parenthesis');
    for (const g of this.condRefs) if (g >= this.groups) throw new ReError(`invalid group reference ${g}`);
    this.checkLookbehinds(items);
    return items;
  }

  private checkLookbehinds(items: readonly Node[]): void {
    for (const n of items) {
      if (n.k === 'look' && n.behind) {
        const [lo, hi] = widthOf(n.body, this.groupWidths);
        if (lo > MAXCODE) throw new ReError('looks too much behind');
        if (lo !== hi) throw new ReError('look-behind requires fixed-width pattern');
      }
      if (n.k === 'alt') n.alts.forEach((a) => this.checkLookbehinds(a));
      else if (n.k === 'cond') {
        this.checkLookbehinds(n.yes);
        if (n.no !== null) this.checkLookbehinds(n.no);
      } else if ('body' in n) this.checkLookbehinds(n.body);
    }
  }

  private checkgroup(gid: number): boolean {
    return gid < this.groups && this.groupWidths[gid] != null;
  }

  private checkLookbehindGroup(gid: number): void {
    if (this.lookbehindGroups === null) return;
    if (!this.checkgroup(gid)) throw new ReError('cannot refer to an open group');
    if (gid >= this.lookbehindGroups) {
      throw new ReError('cannot refer to group defined in the same lookbehind subpattern');
    }
  }

  private checkGroupName(name: string): void {
    if (!isIdentifier(name)) throw new ReError(`bad character in group name '${name}'`);
  }

  /** `_parse_sub`: alternatives, with CPython's common-prefix and single-character-branch rewrites. */
  private parseSub(fl: Flags, nested: number): Node[] {
    if (nested > MAX_NESTING) throw new Unsupportable('pattern is nested too deeply');
    const alts: Node[][] = [];
    for (;;) {
      // Global flags can only appear at the start, but they apply to every top-level branch.
      alts.push(this.parseSeq(nested === 0 ? this.gflags : fl, nested + 1, nested === 0 && alts.length === 0));
      if (!this.src.match('|')) break;
    }
    const [only] = alts;
    if (alts.length === 1 && only) return only;

    // These rewrites matter: a branch of single characters becomes one set, and sets fold case differently.
    const out: Node[] = [];
    for (;;) {
      const prefix = alts[0]?.[0];
      if (prefix === undefined || !alts.every((a) => a[0] !== undefined && sameNode(a[0], prefix))) break;
      for (const a of alts) a.shift();
      out.push(prefix);
    }
    const merged: Item[] = [];
    let fl0: Flags | undefined;
    for (const a of alts) {
      const n = a[0];
      if (a.length !== 1 || n === undefined || (n.k !== 'lit' && n.k !== 'in') || n.neg) {
        out.push({ k: 'alt', alts });
        return out;
      }
      fl0 ??= n.fl;
      if (n.k === 'lit') merged.push({ t: 'lit', cp: n.cp });
      else merged.push(...n.items);
    }
    out.push({ k: 'in', items: uniq(merged), neg: false, fl: fl0 ?? fl });
    return out;
  }

  /** `_parse`: one branch. `first` is true only for the first top-level branch (global flags allowed). */
  private parseSeq(initial: Flags, nested: number, first: boolean): Node[] {
    const src = this.src;
    let fl = initial;
    const items: Node[] = [];
    for (;;) {
      const tok = src.next;
      if (tok === null || tok === '|' || tok === ')') break;
      src.get();
      if (fl.x) {
        if (WHITESPACE.has(tok)) continue;
        if (tok === '#') {
          for (let t = src.get(); t !== null && t !== '\n'; t = src.get());
          continue;
        }
      }
      if (tok[0] === '\\') items.push(this.escape(tok, fl));
      else if (!SPECIAL_CHARS.has(tok)) items.push(lit(cpOf(tok), fl));
      else if (tok === '[') items.push(this.parseClass(fl));
      else if (tok === '.') items.push({ k: 'any', fl });
      else if (tok === '^') items.push({ k: 'at', at: 'bol', fl });
      else if (tok === '$') items.push({ k: 'at', at: 'eol', fl });
      else if (tok === '(') {
        const g = this.parseGroup(fl, nested, first && items.length === 0);
        if (g === 'global') fl = this.gflags;
        else if (g !== 'comment') items.push(g);
      } else this.parseRepeat(tok, items, fl);
    }
    // CPython inlines flagless non-capturing groups, which changes what the prefix rewrite can see.
    for (let n = items.length - 1; n >= 0; n--) {
      const g = items[n];
      if (g?.k === 'group' && g.id === null && !g.scoped) items.splice(n, 1, ...g.body);
    }
    return items;
  }

  private parseRepeat(tok: string, items: Node[], fl: Flags): void {
    const src = this.src;
    const here = src.tell();
    let min = 0;
    let max = MAXREPEAT;
    if (tok === '?') max = 1;
    else if (tok === '+') min = 1;
    else if (tok === '{') {
      if (src.next === '}') {
        items.push(lit(0x7b, fl));
        return;
      }
      const lo = src.getwhile(Infinity, DIGITS);
      const hi = src.match(',') ? src.getwhile(Infinity, DIGITS) : lo;
      if (!src.match('}')) {
        items.push(lit(0x7b, fl));
        src.seek(here);
        return;
      }
      if (lo !== '') min = Number(lo);
      if (hi !== '') max = Number(hi);
      if (min >= MAXREPEAT || (hi !== '' && max >= MAXREPEAT)) {
        throw new Unsupportable('Python raises OverflowError (not re.error): the repetition number is too large');
      }
      if (max < min) throw new ReError('min repeat greater than max repeat');
    }
    const last = items[items.length - 1];
    if (last === undefined || last.k === 'at') throw new ReError('nothing to repeat');
    if (last.k === 'repeat') throw new ReError('multiple repeat');
    const mode = src.match('?') ? 'lazy' : src.match('+') ? 'possessive' : 'greedy';
    const body = last.k === 'group' && last.id === null && !last.scoped ? last.body : [last];
    items[items.length - 1] = { k: 'repeat', min, max, mode, body };
  }

  private parseGroup(fl: Flags, nested: number, canSetGlobal: boolean): Node | 'comment' | 'global' {
    const src = this.src;
    let capture = true;
    let atomic = false;
    let name: string | null = null;
    let sub = fl;
    let scoped = false;
    if (src.match('?')) {
      const ch = src.get();
      if (ch === null) throw new ReError('unexpected end of pattern');
      if (ch === 'P') {
        if (src.match('<')) {
          name = src.getuntil('>', 'group name');
          this.checkGroupName(name);
        } else if (src.match('=')) {
          const ref = src.getuntil(')', 'group name');
          this.checkGroupName(ref);
          const gid = this.groupNames.get(ref);
          if (gid === undefined) throw new ReError(`unknown group name '${ref}'`);
          if (!this.checkgroup(gid)) throw new ReError('cannot refer to an open group');
          this.checkLookbehindGroup(gid);
          return { k: 'ref', id: gid, fl };
        } else {
          const c = src.get();
          if (c === null) throw new ReError('unexpected end of pattern');
          throw new ReError(`unknown extension ?P${c}`);
        }
      } else if (ch === ':') {
        capture = false;
      } else if (ch === '#') {
        for (;;) {
          if (src.next === null) throw new ReError('missing ), unterminated comment');
          if (src.get() === ')') return 'comment';
        }
      } else if (ch === '=' || ch === '!' || ch === '<') {
        return this.parseLookaround(ch, fl, nested);
      } else if (ch === '(') {
        return this.parseConditional(fl, nested);
      } else if (ch === '>') {
        capture = false;
        atomic = true;
      } else if (FLAG_CHARS.has(ch) || ch === '-') {
        const flags = this.parseFlags(ch);
        if (flags === null) {
          if (!canSetGlobal) throw new ReError('global flags not at the start of the expression');
          return 'global';
        }
        capture = false;
        scoped = true;
        sub = combineFlags(fl, flags.add, flags.del);
      } else {
        throw new ReError(`unknown extension ?${ch}`);
      }
    }
    const gid = capture ? this.openGroup(name) : null;
    const body = this.parseSub(sub, nested + 1);
    if (!src.match(')')) throw new ReError('missing ), unterminated subpattern');
    if (gid !== null) this.groupWidths[gid] = widthOf(body, this.groupWidths);
    return atomic ? { k: 'atomic', body } : { k: 'group', id: gid, scoped, body };
  }

  private openGroup(name: string | null): number {
    const gid = this.groups;
    this.groupWidths.push(null);
    if (name !== null) {
      const old = this.groupNames.get(name);
      if (old !== undefined) {
        throw new ReError(`redefinition of group name '${name}' as group ${gid}; was group ${old}`);
      }
      this.groupNames.set(name, gid);
    }
    return gid;
  }

  private parseLookaround(ch: string, fl: Flags, nested: number): Node {
    let neg = ch === '!';
    const behind = ch === '<';
    const saved = this.lookbehindGroups;
    if (behind) {
      const c = this.src.get();
      if (c === null) throw new ReError('unexpected end of pattern');
      if (c !== '=' && c !== '!') throw new ReError(`unknown extension ?<${c}`);
      neg = c === '!';
      if (saved === null) this.lookbehindGroups = this.groups;
    }
    const body = this.parseSub(fl, nested + 1);
    if (behind && saved === null) this.lookbehindGroups = null;
    if (!this.src.match(')')) throw new ReError('missing ), unterminated subpattern');
    return { k: 'look', behind, neg, body };
  }

  private parseConditional(fl: Flags, nested: number): Node {
    const src = this.src;
    const condname = src.getuntil(')', 'group name');
    let gid: number;
    if (isIdentifier(condname)) {
      const g = this.groupNames.get(condname);
      if (g === undefined) throw new ReError(`unknown group name '${condname}'`);
      gid = g;
    } else {
      const ascii = /^[0-9]+$/.test(condname);
      // 3.11 accepts anything int() does (with a DeprecationWarning); 3.12 only ASCII digits.
      if (!ascii && !/^\s*\+?\p{Nd}+(?:_\p{Nd}+)*\s*$/u.test(condname)) {
        throw new ReError(`bad character in group name '${condname}'`);
      }
      gid = ascii ? Number(condname) : NaN;
      if (gid === 0) throw new ReError('bad group number');
      if (ascii) this.condRefs.push(gid);
      else this.unsupported.push('conditional group numbers that Python 3.11 and 3.12 treat differently');
    }
    if (!Number.isNaN(gid)) this.checkLookbehindGroup(gid);
    const yes = this.parseSeq(fl, nested + 1, false);
    let no: Node[] | null = null;
    if (src.match('|')) {
      no = this.parseSeq(fl, nested + 1, false);
      if (src.next === '|') throw new ReError('conditional backref with more than two branches');
    }
    if (!src.match(')')) throw new ReError('missing ), unterminated subpattern');
    this.unsupported.push('conditional groups (?(id)yes|no) are not translated');
    return { k: 'cond', yes, no };
  }

  /** `_parse_flags`: returns null for global flags (already applied), else the scoped add/del sets. */
  private parseFlags(first: string): { add: Set<string>; del: Set<string> } | null {
    const src = this.src;
    const add = new Set<string>();
    const del = new Set<string>();
    let ch: string | null = first;
    if (ch !== '-') {
      for (;;) {
        if (ch === 'L') throw new ReError("bad inline flags: cannot use 'L' flag with a str pattern");
        add.add(ch);
        if (TYPE_FLAGS.has(ch) && [...add].some((f) => TYPE_FLAGS.has(f) && f !== ch)) {
          throw new ReError("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
        }
        ch = src.get();
        if (ch === null) throw new ReError('missing -, : or )');
        if (ch === ')' || ch === '-' || ch === ':') break;
        if (!FLAG_CHARS.has(ch)) throw new ReError(/^\p{L}$/u.test(ch) ? 'unknown flag' : 'missing -, : or )');
      }
    }
    if (ch === ')') {
      this.applyGlobalFlags(add);
      return null;
    }
    if (add.has('t')) throw new ReError('bad inline flags: cannot turn on global flag');
    if (ch === '-') {
      ch = src.get();
      if (ch === null) throw new ReError('missing flag');
      if (!FLAG_CHARS.has(ch)) throw new ReError(/^\p{L}$/u.test(ch) ? 'unknown flag' : 'missing flag');
      for (;;) {
        if (TYPE_FLAGS.has(ch)) throw new ReError("bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
        del.add(ch);
        ch = src.get();
        if (ch === null) throw new ReError('missing :');
        if (ch === ':') break;
        if (!FLAG_CHARS.has(ch)) throw new ReError(/^\p{L}$/u.test(ch) ? 'unknown flag' : 'missing :');
      }
    }
    if (del.has('t')) throw new ReError('bad inline flags: cannot turn off global flag');
    if ([...add].some((f) => del.has(f))) throw new ReError('bad inline flags: flag turned on and off');
    return { add, del };
  }

  private applyGlobalFlags(add: ReadonlySet<string>): void {
    if (add.has('t')) this.unsupported.push('the TEMPLATE flag (?t) changed meaning across Python versions');
    this.sawAscii ||= add.has('a');
    this.sawUnicode ||= add.has('u');
    const g = this.gflags;
    this.gflags = {
      i: g.i || add.has('i'),
      m: g.m || add.has('m'),
      s: g.s || add.has('s'),
      x: g.x || add.has('x'),
      a: this.sawAscii,
    };
  }

  /** `_escape`: an escape outside a character class. */
  private escape(tok: string, fl: Flags): Node {
    const c = tok.slice(1);
    if (c === 'A' || c === 'Z' || c === 'b' || c === 'B') return { k: 'at', at: c as At, fl };
    if (CATEGORIES.has(c)) return { k: 'in', items: [{ t: 'cat', cat: c as Cat }], neg: false, fl };
    const simple = ESCAPES.get(c);
    if (simple !== undefined) return lit(simple, fl);
    const cp = this.codeEscape(tok);
    if (cp !== null) return lit(cp, fl);
    const src = this.src;
    if (c === '0') return lit(parseInt(c + src.getwhile(2, OCTDIGITS), 8), fl);
    if (DIGITS.has(c)) {
      let digits = c;
      if (src.next !== null && DIGITS.has(src.next)) {
        digits += src.get();
        if (OCTDIGITS.has(c) && OCTDIGITS.has(digits[1] ?? '') && src.next !== null && OCTDIGITS.has(src.next)) {
          digits += src.get();
          const value = parseInt(digits, 8);
          if (value > 0o377) throw new ReError(`octal escape value \\${digits} outside of range 0-0o377`);
          return lit(value, fl);
        }
      }
      const gid = Number(digits);
      if (gid >= this.groups) throw new ReError(`invalid group reference ${gid}`);
      if (!this.checkgroup(gid)) throw new ReError('cannot refer to an open group');
      this.checkLookbehindGroup(gid);
      return { k: 'ref', id: gid, fl };
    }
    if (isAsciiLetter(c)) throw new ReError(`bad escape ${tok}`);
    return lit(cpOf(c), fl);
  }

  /** `_class_escape`: an escape inside a character class. */
  private classEscape(tok: string): Item {
    const c = tok.slice(1);
    const simple = ESCAPES.get(c);
    if (simple !== undefined) return { t: 'lit', cp: simple };
    if (CATEGORIES.has(c)) return { t: 'cat', cat: c as Cat };
    const cp = this.codeEscape(tok);
    if (cp !== null) return { t: 'lit', cp };
    if (OCTDIGITS.has(c)) {
      const digits = c + this.src.getwhile(2, OCTDIGITS);
      const value = parseInt(digits, 8);
      if (value > 0o377) throw new ReError(`octal escape value \\${digits} outside of range 0-0o377`);
      return { t: 'lit', cp: value };
    }
    if (DIGITS.has(c) || isAsciiLetter(c)) throw new ReError(`bad escape ${tok}`);
    return { t: 'lit', cp: cpOf(c) };
  }

  /** `\x`, `\u`, `\U` and `\N{...}`, shared by both escape forms; null when `tok` is none of them. */
  private codeEscape(tok: string): number | null {
    const src = this.src;
    const c = tok.slice(1);
    const len = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (len > 0) {
      const hex = src.getwhile(len, HEXDIGITS);
      if (hex.length !== len) throw new ReError(`incomplete escape ${tok}${hex}`);
      const value = parseInt(hex, 16);
      if (value > 0x10ffff) throw new ReError(`bad escape ${tok}${hex}`);
      return value;
    }
    if (c !== 'N') return null;
    if (!src.match('{')) throw new ReError('missing {');
    src.getuntil('}', 'character name');
    this.unsupported.push('named character escapes \\N{...} need the Unicode name database');
    return UNKNOWN_CP;
  }

  private parseClass(fl: Flags): Node {
    const src = this.src;
    const neg = src.match('^');
    const set: Item[] = [];
    for (;;) {
      const tok = src.get();
      if (tok === null) throw new ReError('unterminated character set');
      if (tok === ']' && set.length > 0) break;
      const code1: Item = tok[0] === '\\' ? this.classEscape(tok) : { t: 'lit', cp: cpOf(tok) };
      if (!src.match('-')) {
        set.push(code1);
        continue;
      }
      const that = src.get();
      if (that === null) throw new ReError('unterminated character set');
      if (that === ']') {
        set.push(code1, { t: 'lit', cp: 0x2d });
        break;
      }
      const code2: Item = that[0] === '\\' ? this.classEscape(that) : { t: 'lit', cp: cpOf(that) };
      if (code1.t !== 'lit' || code2.t !== 'lit') throw new ReError(`bad character range ${tok}-${that}`);
      const known = code1.cp !== UNKNOWN_CP && code2.cp !== UNKNOWN_CP;
      if (known && code2.cp < code1.cp) throw new ReError(`bad character range ${tok}-${that}`);
      set.push({ t: 'range', lo: code1.cp, hi: code2.cp });
    }
    const items = uniq(set);
    const [one] = items;
    if (items.length === 1 && one?.t === 'lit') return { k: 'lit', cp: one.cp, neg, fl };
    return { k: 'in', items, neg, fl };
  }
}

/** `_combine_flags` for a scoped group `(?add-del:...)`. */
function combineFlags(fl: Flags, add: ReadonlySet<string>, del: ReadonlySet<string>): Flags {
  const on = (f: 'i' | 'm' | 's' | 'x'): boolean => (fl[f] || add.has(f)) && !del.has(f);
  return { i: on('i'), m: on('m'), s: on('s'), x: on('x'), a: add.has('a') ? true : add.has('u') ? false : fl.a };
}
