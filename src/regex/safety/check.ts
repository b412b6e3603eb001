// Compile-time check for catastrophic backtracking. V8's irregexp, like CPython's sre, is a
// backtracking matcher: on a subject that fails late it tries every way the pattern can match each
// prefix. The check measures that number of ways (the ambiguity of the pattern's position automaton)
// and flags exponential growth and polynomial growth of degree 2 or more in the subject's length.

import { findAmbiguity, TooComplex, type Ambiguity } from './ambiguity.js';
import { resolveBoundaries } from './boundary.js';
import { buildNfa, TooLarge } from './nfa.js';
import { renderNode } from './render.js';
import type { Node } from '../python/ast.js';
import { Parser } from '../python/parse.js';

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
  let parser: Parser;
  let items: Node[];
  try {
    parser = new Parser(pattern);
    items = parser.parse();
  } catch {
    return undefined;
  }
  const pending: (readonly Node[])[] = [items];
  try {
    // Lookarounds, atomic groups and possessive repeats backtrack on their own before committing.
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const nfa = resolveBoundaries(buildNfa(next, parser.groupWidths));
      const found = findAmbiguity(nfa);
      if (found !== undefined && isFlagged(found)) return describe(found);
      pending.push(...nfa.standalone);
    }
  } catch (e) {
    if (e instanceof TooLarge || e instanceof TooComplex) {
      return 'too large or too complex to check for catastrophic backtracking; simplify it or split it into several patterns';
    }
    throw e;
  }
  return undefined;
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
