// Word boundaries in the backtracking analysis. `\b` between two positions allows only a word
// character next to a non-word one, which is what keeps `(?:\b\w+\b\s*)+` from splitting a word
// between iterations. The builder tags each transition with the boundaries it crosses; here every
// position becomes two states (it consumed a word character, or not) and a tagged transition keeps
// only the pairs of states its boundary allows.

import type { Bits } from './charset.js';
import { type Counts, type Nfa, type TaggedNfa, cap, posOf, tagOf } from './automaton.js';

const hasAny = (bits: Bits): boolean => bits.some((w) => w !== 0);

/** Turns tagged transitions into states: one per position without word boundaries, two with them. */
export function resolveBoundaries(raw: TaggedNfa): Nfa {
  const { classes, loops, standalone, word } = raw;
  if (word === undefined) {
    const follow = raw.follow.map((f) => {
      const out: Counts = new Map();
      for (const [k, c] of f) out.set(posOf(k), cap((out.get(posOf(k)) ?? 0) + c));
      return out;
    });
    return { classes, follow, loops, standalone, origin: classes.map((_, p) => p) };
  }
  // State 2p-1 is position p having consumed a word character, state 2p a non-word character.
  const split: Bits[] = [new Uint32Array(0)];
  const origin = [0];
  for (let p = 1; p < classes.length; p++) {
    const cls = classes[p] as Bits;
    split.push(cls.map((w, i) => w & (word[i] ?? 0)), cls.map((w, i) => w & ~(word[i] ?? 0)));
    origin.push(p, p);
  }
  const follow: Counts[] = split.map(() => new Map());
  raw.follow.forEach((edges, p) => {
    const froms = p === 0 ? [0] : [2 * p - 1, 2 * p];
    for (const [k, c] of edges) {
      const q = posOf(k);
      const tag = p === 0 ? 0 : tagOf(k); // what precedes the subject is unknown: allow both
      for (const from of froms) {
        if (from !== 0 && !hasAny(split[from] as Bits)) continue;
        for (const to of [2 * q - 1, 2 * q]) {
          const change = (from % 2) !== (to % 2);
          if (tag === 1 && !change) continue;
          if (tag === 2 && change) continue;
          if (!hasAny(split[to] as Bits)) continue;
          const out = follow[from] as Counts;
          out.set(to, cap((out.get(to) ?? 0) + c));
        }
      }
    }
  });
  return { classes: split, follow, loops, standalone, origin };
}
