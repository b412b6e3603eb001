// Port of CPython 3.11/3.12 `re._parser` (plus the checks `re._compiler` makes) to a translator that
// emits JavaScript `v`-mode source with the same fullmatch semantics. Function and message names follow
// CPython so the two can be compared side by side.

/** Outcome of translating a Python pattern: JS `v`-mode source (unanchored), or why there is none. */
export type Translation =
  | { readonly ok: true; readonly source: string }
  | { readonly ok: false; readonly reason: 'invalid' | 'unsupported'; readonly message: string };

/** Python raised `re.error`. */
class ReError extends Error {}
/** Python raised something other than `re.error`, or translation cannot continue. */
class Unsupportable extends Error {}

const MAXREPEAT = 4294967295;
const MAXCODE = 4294967295;
const MAXWIDTH = 2 ** 64;
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

interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly x: boolean;
  readonly a: boolean;
}
const NO_FLAGS: Flags = { i: false, m: false, s: false, x: false, a: false };

type Cat = 'd' | 'D' | 's' | 'S' | 'w' | 'W';
type Item =
  | { readonly t: 'lit'; readonly cp: number }
  | { readonly t: 'range'; readonly lo: number; readonly hi: number }
  | { readonly t: 'cat'; readonly cat: Cat };
type At = 'bol' | 'eol' | 'A' | 'Z' | 'b' | 'B';

type Node =
  | { readonly k: 'lit'; readonly cp: number; readonly neg: boolean; readonly fl: Flags }
  | { readonly k: 'in'; readonly items: readonly Item[]; readonly neg: boolean; readonly fl: Flags }
  | { readonly k: 'any'; readonly fl: Flags }
  | { readonly k: 'at'; readonly at: At; readonly fl: Flags }
  | { readonly k: 'alt'; readonly alts: Node[][] }
  | { readonly k: 'group'; readonly id: number | null; readonly scoped: boolean; readonly body: Node[] }
  | { readonly k: 'look'; readonly behind: boolean; readonly neg: boolean; readonly body: Node[] }
  | { readonly k: 'atomic'; readonly body: Node[] }
  | {
      readonly k: 'repeat';
      readonly min: number;
      readonly max: number;
      readonly mode: 'greedy' | 'lazy' | 'possessive';
      readonly body: Node[];
    }
  | { readonly k: 'ref'; readonly id: number; readonly fl: Flags }
  | { readonly k: 'cond'; readonly yes: Node[]; readonly no: Node[] | null };

type Width = readonly [number, number];

/** CPython's Tokenizer: a token is one code point, or a backslash and the code point after it. */
class Source {
  next: string | null = null;
  private index = 0;
  private nextLen = 0;

  constructor(private readonly cps: readonly string[]) {
    this.advance();
  }

  private advance(): void {
    let i = this.index;
    const ch = this.cps[i];
    if (ch === undefined) {
      this.next = null;
      this.nextLen = 0;
      return;
    }
    let tok = ch;
    if (ch === '\\') {
      i += 1;
      const c2 = this.cps[i];
      if (c2 === undefined) throw new ReError('bad escape (end of pattern)');
      tok += c2;
    }
    this.index = i + 1;
    this.next = tok;
    this.nextLen = tok === ch ? 1 : 2;
  }

  match(tok: string): boolean {
    if (this.next !== tok) return false;
    this.advance();
    return true;
  }

  get(): string | null {
    const tok = this.next;
    this.advance();
    return tok;
  }

  getwhile(n: number, charset: ReadonlySet<string>): string {
    let out = '';
    for (let k = 0; k < n && this.next !== null && charset.has(this.next); k++) out += this.get();
    return out;
  }

  getuntil(terminator: string, name: string): string {
    let out = '';
    for (;;) {
      const c = this.get();
      if (c === null) throw new ReError(out === '' ? `missing ${name}` : `missing ${terminator}, unterminated name`);
      if (c === terminator) {
        if (out === '') throw new ReError(`missing ${name}`);
        return out;
      }
      out += c;
    }
  }

  tell(): number {
    return this.index - this.nextLen;
  }

  seek(index: number): void {
    this.index = index;
    this.advance();
  }
}

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

function widthOf(items: readonly Node[], groupWidths: readonly (Width | null)[]): Width {
  let lo = 0;
  let hi = 0;
  for (const n of items) {
    switch (n.k) {
      case 'lit':
      case 'in':
      case 'any':
        lo += 1;
        hi += 1;
        break;
      case 'alt': {
        let i = MAXWIDTH;
        let j = 0;
        for (const a of n.alts) {
          const [l, h] = widthOf(a, groupWidths);
          i = Math.min(i, l);
          j = Math.max(j, h);
        }
        lo += i;
        hi += j;
        break;
      }
      case 'group':
      case 'atomic': {
        const [i, j] = widthOf(n.body, groupWidths);
        lo += i;
        hi += j;
        break;
      }
      case 'repeat': {
        const [i, j] = widthOf(n.body, groupWidths);
        lo += i * n.min;
        hi = n.max === MAXREPEAT && j !== 0 ? MAXWIDTH : hi + j * n.max;
        break;
      }
      case 'ref': {
        const [i, j] = groupWidths[n.id] ?? [0, 0];
        lo += i;
        hi += j;
        break;
      }
      case 'cond': {
        let [i, j] = widthOf(n.yes, groupWidths);
        if (n.no !== null) {
          const [l, h] = widthOf(n.no, groupWidths);
          i = Math.min(i, l);
          j = Math.max(j, h);
        } else {
          i = 0;
        }
        lo += i;
        hi += j;
        break;
      }
      case 'at':
      case 'look':
        break;
    }
  }
  return [Math.min(lo, MAXWIDTH), Math.min(hi, MAXWIDTH)];
}

class Parser {
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

// ---------------------------------------------------------------------------------------------
// Code point sets (flat sorted [lo0, hi0, lo1, hi1, ...]) and CPython's case-insensitive matching.

function normalize(pairs: readonly number[]): number[] {
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

interface Folder {
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

const folderFor = (fl: Flags): Folder => (fl.a ? ASCII_FOLDER : getUnicodeFolder());

function hasCased(items: readonly Item[], folder: Folder): boolean {
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
function foldItems(items: readonly Item[], folder: Folder, lowerAstral: boolean): number[] {
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

// ---------------------------------------------------------------------------------------------
// Emitting JavaScript `v`-mode source.

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

interface Step {
  readonly node: Node;
  readonly branch: number;
}

/**
 * Finds the groups that backreferences need, and the constructs JS would treat differently:
 * - JS lets a reference to a group that did not participate match the empty string (Python fails), and
 *   resets groups on each repetition; it has no per-group case-insensitivity.
 * - Past its minimum, a Python loop may run one last iteration that matches nothing (its zero-width
 *   guard only stops the next one); JS rejects every empty iteration. That is invisible to a plain
 *   match, but not to a backreference to a group inside the loop, nor to an atomic group or possessive
 *   repeat, which commit to the first way they match.
 */
function analyze(
  items: readonly Node[],
  widths: readonly (Width | null)[],
): { referenced: Set<number>; problems: string[] } {
  const groupPaths = new Map<number, readonly Step[]>();
  const refs: { node: Extract<Node, { k: 'ref' }>; path: readonly Step[] }[] = [];
  const problems: string[] = [];
  const walk = (seq: readonly Node[], path: readonly Step[], backward: boolean): void => {
    for (const node of seq) {
      const here = [...path, { node, branch: 0 }];
      if (node.k === 'alt') node.alts.forEach((a, branch) => walk(a, [...path, { node, branch }], backward));
      else if (node.k === 'cond') {
        walk(node.yes, here, backward);
        if (node.no !== null) walk(node.no, [...path, { node, branch: 1 }], backward);
      } else if (node.k === 'ref') refs.push({ node, path: here });
      else if ('body' in node) {
        if (node.k === 'group' && node.id !== null) groupPaths.set(node.id, here);
        const commits = node.k === 'atomic' || (node.k === 'repeat' && node.mode === 'possessive');
        if (commits && !backward && hasEmptyIteration(node.k === 'atomic' ? node.body : [node], widths)) {
          problems.push('atomic groups and possessive repeats around a loop whose body can match empty');
        }
        walk(node.body, here, node.k === 'look' ? node.behind : backward);
      }
    }
  };
  walk(items, [], false);
  const referenced = new Set<number>();
  for (const ref of refs) {
    referenced.add(ref.node.id);
    if (ref.node.fl.i) problems.push('case-insensitive backreferences');
    const target = groupPaths.get(ref.node.id) ?? [];
    if (!alwaysSetBefore(target, ref.path, widths)) {
      problems.push('backreferences to a group that may be unset or set differently in JavaScript');
    }
  }
  return { referenced, problems };
}

const emptyIteration = (n: Node, widths: readonly (Width | null)[]): boolean =>
  n.k === 'repeat' && n.max > n.min && widthOf(n.body, widths)[0] === 0;

function hasEmptyIteration(seq: readonly Node[], widths: readonly (Width | null)[]): boolean {
  return seq.some((n) => {
    if (emptyIteration(n, widths)) return true;
    if (n.k === 'alt') return n.alts.some((a) => hasEmptyIteration(a, widths));
    if (n.k === 'cond') return hasEmptyIteration(n.yes, widths) || hasEmptyIteration(n.no ?? [], widths);
    return 'body' in n && hasEmptyIteration(n.body, widths);
  });
}

/** True when, on every path that reaches the reference, both engines set the group to the same text. */
function alwaysSetBefore(group: readonly Step[], ref: readonly Step[], widths: readonly (Width | null)[]): boolean {
  let c = 0;
  while (c < group.length && group[c]?.node === ref[c]?.node && group[c]?.branch === ref[c]?.branch) c++;
  if (c < group.length && group[c]?.node === ref[c]?.node) return false;
  return group.slice(c).every(({ node }) => {
    if (node.k === 'repeat') return node.min > 0 && !emptyIteration(node, widths);
    return node.k === 'group' || node.k === 'atomic';
  });
}

const ATOMS: ReadonlySet<Node['k']> = new Set(['lit', 'in', 'any', 'group', 'ref', 'alt']);

class Emitter {
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

/** Translates a Python `re` pattern (str, no flags argument) into unanchored JS `v`-mode source. */
export function translatePythonPattern(pattern: string): Translation {
  let parser: Parser | undefined;
  let items: Node[];
  try {
    parser = new Parser(pattern);
    items = parser.parse();
  } catch (e) {
    if (e instanceof ReError) return { ok: false, reason: 'invalid', message: `re.error: ${e.message}` };
    if (e instanceof Unsupportable) return { ok: false, reason: 'unsupported', message: e.message };
    throw e;
  }
  const { referenced, problems } = analyze(items, parser.groupWidths);
  const reasons = [...new Set([...parser.unsupported, ...problems])];
  if (reasons.length > 0) return { ok: false, reason: 'unsupported', message: `not supported: ${reasons.join('; ')}` };
  return { ok: true, source: new Emitter(referenced).body(items) };
}
