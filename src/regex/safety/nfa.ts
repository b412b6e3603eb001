// A position (Glushkov) automaton of a parsed Python pattern, built for the backtracking analysis:
// its transitions carry multiplicities, because a backtracking matcher tries every *path*, and two
// paths between the same positions (the inner and the outer loop of `(a+)+`, the two empty branches
// of `a(?:b?|c?)`) double its work as surely as two positions do. Transitions also carry the word
// boundary assertions they cross (`\b`, `\B`), which boundary.ts turns into states.

import { MAXREPEAT, type Node } from '../python/ast.js';
import { type Bits, Universe, unionOf } from './charset.js';
import { type Counts, type Loop, type Tag, type TaggedNfa, cap, keyOf, posOf, tagOf } from './automaton.js';
import { type Width, widthOf } from '../python/width.js';

type Leaf = Extract<Node, { k: 'lit' | 'in' | 'any' }>;
/** First and last positions (keyed with the boundary tags crossed on the way) of a subpattern. */
interface Frag {
  readonly first: Counts;
  readonly last: Counts;
  /** Empty paths through the fragment: boundary tag -> number of paths. */
  readonly empty: Counts;
}

// Repeats past these bounds are analysed as unbounded: a bounded repeat of a variable-width body with
// several iterations (`(.*a){20}`, `(?:\w+\s?){5}`) backtracks like a loop, polynomially of high degree.
const EXACT_MAX = 16;
const VARIABLE_EXACT_MAX = 3;
const COPIES_MAX = 3;
const POSITIONS_MAX = 20_000;

const EMPTY: Frag = { first: new Map(), last: new Map(), empty: new Map([[0, 1]]) };
const once = (tag: Tag): Frag => ({ first: new Map(), last: new Map(), empty: new Map([[tag, 1]]) });

function addCounts(into: Counts, from: Counts, times: number): void {
  for (const [k, c] of from) into.set(k, cap((into.get(k) ?? 0) + c * times));
}

/** Adds `from` to `into` with `tag` crossed as well; paths that cross both \b and \B are impossible. */
function addTagged(into: Counts, from: Counts, times: number, tag: number): void {
  for (const [k, c] of from) {
    const t = (tagOf(k) | tag) as Tag;
    if (t === 3) continue;
    const key = keyOf(posOf(k), t);
    into.set(key, cap((into.get(key) ?? 0) + c * times));
  }
}

const plusEmptyPath = (empty: Counts): Counts => new Map(empty).set(0, cap((empty.get(0) ?? 0) + 1));

/** Builds the automaton of `items`; `groupWidths` (from the parser) tell fixed- from variable-width repeats. */
export function buildNfa(items: readonly Node[], groupWidths: readonly (Width | null)[]): TaggedNfa {
  return new Builder(items, groupWidths).nfa;
}

class Builder {
  readonly nfa: TaggedNfa;
  private readonly universe: Universe;
  private readonly classes: Bits[] = [new Uint32Array(0)];
  private readonly follow: Counts[] = [new Map()];
  private readonly loops: Loop[] = [];
  private readonly standalone: (readonly Node[])[] = [];
  private readonly groups = new Map<number, readonly Node[]>();
  private refDepth = 0;
  private word: Bits | undefined;

  constructor(items: readonly Node[], private readonly groupWidths: readonly (Width | null)[]) {
    const leaves: Leaf[] = [];
    const walk = (seq: readonly Node[]): void => {
      for (const n of seq) {
        if (n.k === 'lit' || n.k === 'in' || n.k === 'any') leaves.push(n);
        else if (n.k === 'alt') n.alts.forEach(walk);
        else if (n.k === 'cond') [n.yes, n.no ?? []].forEach(walk);
        else if ('body' in n) {
          if (n.k === 'group' && n.id !== null) this.groups.set(n.id, n.body);
          walk(n.body);
        }
      }
    };
    walk(items);
    this.universe = new Universe(leaves);
    const top = this.seq(items);
    addCounts(this.follow[0] ?? new Map(), top.first, 1);
    const { classes, follow, loops, standalone, word } = this;
    this.nfa = { classes, follow, loops, standalone, word };
  }

  private position(bits: Bits): Frag {
    if (this.classes.length > POSITIONS_MAX) throw new TooLarge();
    const p = this.classes.length;
    this.classes.push(bits);
    this.follow.push(new Map());
    return { first: new Map([[keyOf(p, 0), 1]]), last: new Map([[keyOf(p, 0), 1]]), empty: new Map() };
  }

  private link(from: Counts, to: Counts): void {
    for (const [k, c] of from) addTagged(this.follow[posOf(k)] ?? new Map(), to, c, tagOf(k));
  }

  private concat(a: Frag, b: Frag): Frag {
    this.link(a.last, b.first);
    const first = new Map(a.first);
    for (const [tag, c] of a.empty) addTagged(first, b.first, c, tag);
    const last = new Map(b.last);
    for (const [tag, c] of b.empty) addTagged(last, a.last, c, tag);
    const empty: Counts = new Map(); // keyed by tag alone, i.e. keyOf(0, tag)
    for (const [tag, c] of a.empty) addTagged(empty, b.empty, c, tag);
    return { first, last, empty };
  }

  private seq(items: readonly Node[]): Frag {
    return items.reduce<Frag>((acc, n) => this.concat(acc, this.node(n)), EMPTY);
  }

  private node(n: Node): Frag {
    switch (n.k) {
      case 'lit':
      case 'in':
      case 'any':
        return this.position(this.universe.classOf(n));
      case 'at':
        if (n.at === 'b' || n.at === 'B') {
          this.word ??= this.universe.classOf({ k: 'in', items: [{ t: 'cat', cat: 'w' }], neg: false, fl: n.fl });
          return once(n.at === 'b' ? 1 : 2);
        }
        return EMPTY; // other assertions only remove paths; ignoring them can only add ambiguity
      case 'look':
        this.standalone.push(n.body);
        return EMPTY;
      case 'group':
        return this.seq(n.body);
      case 'alt':
      case 'cond': {
        const branches = n.k === 'alt' ? n.alts : [n.yes, n.no ?? []];
        const first: Counts = new Map();
        const last: Counts = new Map();
        const empty: Counts = new Map();
        for (const b of branches) {
          const f = this.seq(b);
          addCounts(first, f.first, 1);
          addCounts(last, f.last, 1);
          addCounts(empty, f.empty, 1);
        }
        return { first, last, empty };
      }
      case 'atomic':
        return this.committed(n.body);
      case 'repeat':
        if (n.mode === 'possessive') return this.committed([{ ...n, mode: 'greedy' }]);
        return this.repeat(n);
      case 'ref': {
        // A backreference matches a copy of what its group matched: a subset of the group's language.
        const body = this.groups.get(n.id);
        if (body === undefined || this.refDepth > 8) return this.position(this.universe.all());
        this.refDepth += 1;
        const f = this.seq(body);
        this.refDepth -= 1;
        return f;
      }
    }
  }

  // An atomic group commits to its first match, so nothing outside can make it match differently: to
  // the enclosing pattern it is one step. Its own backtracking (before it commits) is checked alone.
  private committed(body: readonly Node[]): Frag {
    this.standalone.push(body);
    const bits: Bits[] = [];
    const walk = (seq: readonly Node[], depth: number): void => {
      for (const n of seq) {
        if (n.k === 'lit' || n.k === 'in' || n.k === 'any') bits.push(this.universe.classOf(n));
        else if (n.k === 'alt') n.alts.forEach((a) => walk(a, depth));
        else if (n.k === 'cond') [n.yes, n.no ?? []].forEach((a) => walk(a, depth));
        else if (n.k === 'ref' && depth < 8) walk(this.groups.get(n.id) ?? [], depth + 1);
        else if ('body' in n && n.k !== 'look') walk(n.body, depth);
      }
    };
    walk(body, 0);
    const step = this.position(unionOf(bits, this.universe.words));
    return widthOf(body, this.groupWidths)[0] === 0 ? { ...step, empty: EMPTY.empty } : step;
  }

  private repeat(n: Extract<Node, { k: 'repeat' }>): Frag {
    if (n.max === 0) return EMPTY;
    const [lo, hi] = widthOf(n.body, this.groupWidths);
    const exact =
      n.max !== MAXREPEAT && (lo === hi ? n.max <= EXACT_MAX : n.max <= VARIABLE_EXACT_MAX) &&
      this.classes.length + this.size(n.body) * n.max <= POSITIONS_MAX;
    let acc: Frag = EMPTY;
    if (exact) {
      for (let i = 0; i < n.min; i++) acc = this.concat(acc, this.seq(n.body));
      // x{0,3} is (x(x(x)?)?)?, not x?x?x?: the latter would match one x in three ways.
      const optional: Frag[] = [];
      for (let i = n.min; i < n.max; i++) optional.push(this.seq(n.body));
      let rest: Frag = EMPTY;
      for (let i = optional.length - 1; i >= 0; i--) {
        const f = optional[i] ?? EMPTY;
        const both = this.concat(f, rest);
        rest = { first: both.first, last: both.last, empty: plusEmptyPath(both.empty) };
      }
      return this.concat(acc, rest);
    }
    const copies = Math.min(n.min, COPIES_MAX);
    for (let i = 1; i < copies; i++) acc = this.concat(acc, this.seq(n.body));
    const from = this.classes.length;
    const body = this.seq(n.body);
    this.link(body.last, body.first);
    this.loops.push({ node: n, from, to: this.classes.length });
    // Python and JS stop a loop at an empty iteration, so the loop adds one empty path (none if min > 0).
    const loop: Frag = { first: body.first, last: body.last, empty: copies === 0 ? EMPTY.empty : body.empty };
    return this.concat(acc, loop);
  }

  private size(items: readonly Node[]): number {
    let s = 0;
    for (const n of items) {
      if (n.k === 'lit' || n.k === 'in' || n.k === 'any') s += 1;
      else if (n.k === 'alt') s += n.alts.reduce((t, a) => t + this.size(a), 0);
      else if (n.k === 'repeat') s += this.size(n.body) * Math.min(n.max === MAXREPEAT ? COPIES_MAX : n.max, EXACT_MAX);
      else if ('body' in n) s += this.size(n.body);
      else if (n.k === 'ref') s += this.size(this.groups.get(n.id) ?? []);
    }
    return s;
  }
}

/** The pattern expands past the analysis' size limit. */
export class TooLarge extends Error {}
