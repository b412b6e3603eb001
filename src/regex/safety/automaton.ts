// The automata the backtracking check works on, and the encoding they share: nfa.ts builds a
// TaggedNfa, boundary.ts turns it into an Nfa, ambiguity.ts reads that. Only types and the key
// encoding live here, so the three stages import this file and not each other.

import type { Node } from '../python/ast.js';
import type { Bits } from './charset.js';

/** Boundaries crossed: 0 none, 1 `\b`, 2 `\B`, 3 both (no character pair satisfies it). */
export type Tag = 0 | 1 | 2 | 3;
/** Key (state, or `keyOf(position, tag)`) -> number of paths, capped at 2 ("one or several"). */
export type Counts = Map<number, number>;

/** Caps a path count at 2. */
export const cap = (n: number): number => Math.min(n, 2);
/** A position and the boundaries crossed to reach it, as one number. */
export const keyOf = (pos: number, tag: Tag): number => pos * 4 + tag;
/** The position of a key. */
export const posOf = (key: number): number => Math.floor(key / 4);
/** The boundaries of a key. */
export const tagOf = (key: number): Tag => (key % 4) as Tag;

/** The automaton the ambiguity tests read: state 0 is the start; `follow[s]` maps successors to path counts. */
export interface Nfa {
  readonly classes: readonly Bits[];
  readonly follow: readonly Counts[];
  /** Loops in positions (see `origin`). */
  readonly loops: readonly Loop[];
  /** The position each state comes from. */
  readonly origin: readonly number[];
  readonly standalone: readonly (readonly Node[])[];
}

/** A loop of the automaton: the positions of one unbounded (or treated as unbounded) repeat. */
export interface Loop {
  readonly node: Node;
  readonly from: number;
  readonly to: number;
}

/**
 * The automaton as built: state 0 is the start, states 1..n are positions; `follow[p]` maps
 * `keyOf(successor, tag)` to path counts. `word` is the `\w` class when a word boundary occurs.
 */
export interface TaggedNfa {
  readonly classes: readonly Bits[];
  readonly follow: readonly Counts[];
  readonly loops: readonly Loop[];
  /** Bodies the matcher runs on their own (lookarounds, atomic groups, possessive repeats). */
  readonly standalone: readonly (readonly Node[])[];
  readonly word: Bits | undefined;
}
