// Compile-time check for catastrophic backtracking. V8's irregexp, like CPython's sre, is a
// backtracking matcher: on a subject that fails late it tries every way the pattern can match each
// prefix. The check measures that number of ways (the ambiguity of the pattern's position automaton)
// and flags exponential growth and polynomial growth of degree 2 or more in the subject's length,
// and growth exponential in a repeat's count (`(?:x?){24}`), which the automaton does not show.

import { findAmbiguity, TooComplex, type Ambiguity } from './ambiguity.js';
import { resolveBoundaries } from './boundary.js';
import { buildNfa, TooLarge } from './nfa.js';
import { renderNode } from './render.js';
import { MAXREPEAT, type Node } from '../python/ast.js';
import { Parser } from '../python/parse.js';
import { type Width, widthOf } from '../python/width.js';

/**
 * Polynomial ambiguity of this degree or more is flagged: 2 means three loops that can share the
 * same text (`\d+\d+\d+x`, `.*a.*b.*`), or two such pairs one after the other (`\d+\d+x\d+\d+`):
 * cubic time on a failing fullmatch and quartic in a search. Degree 1 (`.*-preview`, `\w+\d+`) is
 * how most ordinary patterns look, and stays allowed.
 */
export const MIN_FLAGGED_DEGREE = 2;

const HOW_TO_FIX =
  'make the repeated parts unable to match the same characters (e.g. [^,]* instead of .* before a comma), or wrap them in an atomic group (?>...) or a possessive quantifier (*+, ++)';

/**
 * Whether a Python `re` pattern can backtrack catastrophically (exponential or high-degree
 * polynomial time in the subject's length). Returns the reason when it can, else undefined.
 * Deterministic, and undefined for patterns Python rejects (they never run as regexes).
 */
export function checkRegexSafety(pattern: string): string | undefined {
  return analyzeRegexSafety(pattern).unsafe;
}

/** What the check found: see {@link analyzeRegexSafety}. */
export interface RegexSafety {
  /** Why the pattern can backtrack catastrophically, or undefined (see checkRegexSafety). */
  readonly unsafe: string | undefined;
  /**
   * True when a fullmatch takes time linear in the subject: no two loops can split the same text
   * (degree 0), and nothing runs a search of its own at each attempt (lookarounds, atomic groups,
   * possessive repeats) or compares a copy (backreferences). False for patterns Python rejects.
   */
  readonly linear: boolean;
}

/** checkRegexSafety, and whether a fullmatch of the pattern is linear in the subject's length. */
export function analyzeRegexSafety(pattern: string): RegexSafety {
  let parser: Parser;
  let items: Node[];
  try {
    parser = new Parser(pattern);
    items = parser.parse();
  } catch {
    return { unsafe: undefined, linear: false };
  }
  const pending: (readonly Node[])[] = [items];
  let linear = !hasBackreference(items);
  try {
    // Lookarounds, atomic groups and possessive repeats backtrack on their own before committing.
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const nfa = resolveBoundaries(buildNfa(next, parser.groupWidths));
      const found = findAmbiguity(nfa);
      if (found !== undefined && isFlagged(found)) return { unsafe: describe(found), linear: false };
      if (found !== undefined || nfa.standalone.length > 0) linear = false;
      pending.push(...nfa.standalone);
    }
    const counted = findCountedAmbiguity(items, parser.groupWidths);
    if (counted !== undefined) return { unsafe: counted, linear: false };
  } catch (e) {
    if (e instanceof TooLarge || e instanceof TooComplex) {
      const unsafe = 'too large or too complex to check for catastrophic backtracking; simplify it or split it into several patterns';
      return { unsafe, linear: false };
    }
    throw e;
  }
  return { unsafe: undefined, linear };
}

function hasBackreference(items: readonly Node[]): boolean {
  return items.some((n) =>
    n.k === 'ref' || n.k === 'cond' ? true : n.k === 'alt' ? n.alts.some(hasBackreference) : 'body' in n && hasBackreference(n.body),
  );
}

const isFlagged = (a: Ambiguity): boolean => a.kind === 'exponential' || a.degree >= MIN_FLAGGED_DEGREE;

function describe(a: Ambiguity): string {
  if (a.kind === 'exponential') {
    const loop = a.loop === undefined ? 'a repeated part' : renderNode(a.loop.node);
    const what = a.nested ? 'nested quantifier' : 'overlapping repetition';
    return `${what}: ${loop} can match the same text in exponentially many ways, so a subject that fails to match takes exponential time; ${HOW_TO_FIX}`;
  }
  const runs = a.runs.map((run) => run.map((l) => (l === undefined ? '?' : renderNode(l.node))).join(', ')).join(', and later ');
  return `adjacent overlapping quantifiers: ${runs} can split the same text in O(n^${a.degree}) ways, so a subject that fails to match takes polynomial time of degree ${a.degree + 1}; ${HOW_TO_FIX}`;
}

/**
 * Repeats with at least this many iterations are checked for ambiguity per iteration: the
 * automaton expands at most 3 iterations of a variable-width body exactly (nfa.ts), and past that
 * models a repeat as a loop, which hides two ways a count multiplies the work.
 */
const COUNTED_MIN = 4;

type Repeat = Extract<Node, { k: 'repeat' }>;

/**
 * Repeats whose work grows exponentially with their count, as a loop would with the subject:
 * - a body that can match nothing, repeated at least COUNTED_MIN times *mandatorily*
 *   (`(?:x?){24}`): each mandatory iteration may be empty or not (JS and Python stop only an
 *   optional iteration that matched nothing), so k characters split among m iterations in
 *   C(m, k) ways. Its loop model `(?:x?)*` hides this; two iterations per loop turn expose it.
 * - a body that matches some text in two ways (`(?:ab|ab){16}`, `(?:\d?\d?,){8}`) repeated up
 *   to at least COUNTED_MIN times: 2^count ways, in a repeat the automaton expands exactly.
 * Each is checked as a loop over one iteration (two for the first case), for exponential ambiguity.
 */
function findCountedAmbiguity(items: readonly Node[], groupWidths: readonly (Width | null)[]): string | undefined {
  const repeats: Repeat[] = [];
  const walk = (seq: readonly Node[]): void => {
    for (const n of seq) {
      if (n.k === 'alt') n.alts.forEach(walk);
      else if (n.k === 'cond') [n.yes, n.no ?? []].forEach(walk);
      else if ('body' in n) {
        if (n.k === 'repeat') repeats.push(n);
        walk(n.body);
      }
    }
  };
  walk(items);
  for (const n of repeats) {
    const single = n.body.length === 1 && ['lit', 'in', 'any'].includes(n.body[0]?.k ?? '');
    if (single) continue; // one character per iteration: never empty, never two ways
    const iteration: Node = { k: 'group', id: null, scoped: false, body: n.body };
    const emptyIterations = widthOf(n.body, groupWidths)[0] === 0 && n.min >= COUNTED_MIN;
    let body: Node[];
    if (emptyIterations) body = [iteration, iteration];
    else if (n.max !== MAXREPEAT && n.max >= COUNTED_MIN) body = [iteration];
    else continue;
    const loop: Node = { k: 'repeat', min: 1, max: MAXREPEAT, mode: 'greedy', body };
    const found = findAmbiguity(resolveBoundaries(buildNfa([loop], groupWidths)));
    if (found?.kind !== 'exponential') continue;
    const count = emptyIterations ? n.min : n.max;
    const why = emptyIterations ? 'iterations that may match nothing' : 'a body that can match the same text in more than one way';
    return `repeated ambiguous part: ${renderNode(n)} can split the same text among its ${count} iterations in exponentially many ways (${why}), so a subject that fails to match takes time exponential in the count; make each iteration match at least one character and no text in two ways, or wrap it in an atomic group (?>...)`;
  }
  return undefined;
}
