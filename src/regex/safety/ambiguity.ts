// Ambiguity of the position automaton, which bounds what a backtracking matcher does on a failing
// subject: it tries every path. Exponentially many paths (EDA) exist iff some state has two distinct
// cycles on the same word; polynomially many of degree d (IDA) iff some path passes d pairs of loops,
// the two loops of each pair able to consume the same word (the pairs may be far apart: in
// `\d+\d+x\d+\d+` each run of digits splits its own way, and the two choices multiply). The tests
// are those of Allauzen, Mohri and Rastogi ("General algorithms for testing the ambiguity of finite
// automata", 2008) on pair and triple products; the degree is Weber and Seidl's.

import { intersects } from './charset.js';
import type { Loop, Nfa } from './automaton.js';

/** What makes the pattern slow: a loop with exponentially many paths, or a chain of overlapping loops. */
export type Ambiguity =
  | { readonly kind: 'exponential'; readonly loop: Loop | undefined; readonly nested: boolean }
  | {
      readonly kind: 'polynomial';
      readonly degree: number;
      /** Runs of loops in path order; within a run each loop overlaps the next. */
      readonly runs: readonly (readonly (Loop | undefined)[])[];
    };

// Bounds the product searches; a pattern that needs more is reported as too complex to check.
const STEPS_MAX = 5_000_000;

/** The analysis would take too long for this pattern. */
export class TooComplex extends Error {}

class Budget {
  private steps = 0;
  spend(n = 1): void {
    this.steps += n;
    if (this.steps > STEPS_MAX) throw new TooComplex();
  }
}

/**
 * Strongly connected components (iterative Tarjan) of the nodes reachable from `roots`: node -> id,
 * ids in reverse topological order (sinks first). Maps, not arrays: the pair graphs are sparse.
 */
function sccs(roots: Iterable<number>, succ: (v: number) => readonly number[], budget: Budget): Map<number, number> {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const comp = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  let comps = 0;
  for (const root of roots) {
    if (index.has(root)) continue;
    const work: { v: number; out: readonly number[]; i: number }[] = [];
    const open = (v: number): void => {
      index.set(v, index.size);
      low.set(v, index.size - 1);
      stack.push(v);
      onStack.add(v);
      work.push({ v, out: succ(v), i: 0 });
    };
    open(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as { v: number; out: readonly number[]; i: number };
      budget.spend();
      if (top.i < top.out.length) {
        const w = top.out[top.i++] as number;
        if (!index.has(w)) open(w);
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v) ?? 0, index.get(w) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(top.v) ?? 0));
      if (low.get(top.v) === index.get(top.v)) {
        let w: number;
        do {
          w = stack.pop() as number;
          onStack.delete(w);
          comp.set(w, comps);
        } while (w !== top.v);
        comps++;
      }
    }
  }
  return comp;
}

/** Finds the worst ambiguity of the automaton: exponential, else polynomial of degree >= 1, else undefined. */
export function findAmbiguity(nfa: Nfa): Ambiguity | undefined {
  const budget = new Budget();
  const n = nfa.classes.length;
  const succ = nfa.follow.map((f) => [...f.keys()]);
  const comp = sccs(succ.keys(), (v) => succ[v] ?? [], budget);
  const members = new Map<number, number[]>();
  for (let v = 0; v < n; v++) {
    const c = comp.get(v) ?? 0;
    const list = members.get(c);
    if (list === undefined) members.set(c, [v]);
    else list.push(v);
  }
  const preds: number[][] = succ.map(() => []);
  succ.forEach((outs, v) => outs.forEach((w) => preds[w]?.push(v)));
  const cyclic = [...members.entries()]
    .filter(([, vs]) => vs.length > 1 || nfa.follow[vs[0] ?? 0]?.has(vs[0] ?? 0) === true)
    .sort((a, b) => a[0] - b[0]);
  for (const [, states] of cyclic) {
    const nested = exponentialIn(nfa, states, budget);
    if (nested !== undefined) return { kind: 'exponential', loop: loopOf(nfa, states), nested };
  }
  // The degree of each cyclic component: the most overlapping pairs on a path from it, counting
  // pairs anywhere downstream (processed sinks first, so every successor is done).
  const chain = new Map<number, { degree: number; next: number | undefined; overlaps: boolean }>();
  let best: number | undefined;
  for (const [a, statesA] of cyclic) {
    const fromA = closure(statesA, (v) => succ[v] ?? []);
    let here = { degree: 0, next: undefined as number | undefined, overlaps: false };
    for (const [b, statesB] of cyclic) {
      const there = chain.get(b);
      if (b >= a || there === undefined || there.degree + 1 <= here.degree) continue;
      if (!statesB.some((s) => fromA.has(s))) continue;
      if (polynomialBetween(nfa, succ, preds, statesA, statesB, fromA, budget)) here = { degree: there.degree + 1, next: b, overlaps: true };
      else if (there.degree > here.degree) here = { degree: there.degree, next: b, overlaps: false };
    }
    chain.set(a, here);
    if (best === undefined || here.degree > (chain.get(best)?.degree ?? 0)) best = a;
  }
  const head = best === undefined ? undefined : chain.get(best);
  if (best === undefined || head === undefined || head.degree < 1) return undefined;
  const runs: (Loop | undefined)[][] = [];
  let run: (Loop | undefined)[] = [];
  for (let c: number | undefined = best; c !== undefined; ) {
    const link = chain.get(c);
    if (link?.overlaps === true) {
      if (run.length === 0) run.push(loopOf(nfa, members.get(c) ?? []));
      run.push(loopOf(nfa, members.get(link.next as number) ?? []));
    } else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
    c = link?.next;
  }
  if (run.length > 0) runs.push(run);
  return { kind: 'polynomial', degree: head.degree, runs };
}

/**
 * Within one cyclic component: can a state reach itself along two different paths on the same word?
 * Returns whether the two paths differ by a parallel transition (nested loops), or undefined if not.
 */
function exponentialIn(nfa: Nfa, states: readonly number[], budget: Budget): boolean | undefined {
  const m = states.length;
  const at = new Map(states.map((s, i) => [s, i] as const));
  const inside = states.map((s) => [...(nfa.follow[s]?.keys() ?? [])].flatMap((t) => (at.has(t) ? [at.get(t) as number] : [])));
  const cls = states.map((s) => nfa.classes[s] as Uint32Array);
  const pairSucc = (v: number): number[] => {
    const i = Math.floor(v / m);
    const j = v % m;
    const out: number[] = [];
    for (const x of inside[i] ?? []) {
      for (const y of inside[j] ?? []) {
        budget.spend();
        if (intersects(cls[x] as Uint32Array, cls[y] as Uint32Array)) out.push(x * m + y);
      }
    }
    return out;
  };
  // Only pairs reachable from a diagonal can lie on a cycle through one.
  const pcomp = sccs(states.map((_, i) => i * m + i), pairSucc, budget);
  const diag = new Set<number>();
  for (let i = 0; i < m; i++) diag.add(pcomp.get(i * m + i) ?? -1);
  for (const [v, c] of pcomp) if (Math.floor(v / m) !== v % m && diag.has(c)) return false;
  for (let i = 0; i < m; i++) {
    const s = states[i] as number;
    for (const [t, count] of nfa.follow[s] ?? []) {
      const j = at.get(t);
      if (count < 2 || j === undefined || !intersects(cls[j] as Uint32Array, cls[j] as Uint32Array)) continue;
      if (pcomp.get(i * m + i) === pcomp.get(j * m + j)) return true;
    }
  }
  return undefined;
}

/**
 * Is there a word w with p -w-> p (in A), p -w-> q and q -w-> q (in B), for some p in A and q in B?
 * `fromA`: the states reachable from A.
 */
function polynomialBetween(
  nfa: Nfa,
  succ: readonly (readonly number[])[],
  preds: readonly (readonly number[])[],
  a: readonly number[],
  b: readonly number[],
  fromA: ReadonlySet<number>,
  budget: Budget,
): boolean {
  const inA = new Set(a);
  const inB = new Set(b);
  if (!b.some((s) => fromA.has(s))) return false;
  const toB = closure(b, (v) => preds[v] ?? []);
  const middle = [...fromA].filter((s) => toB.has(s));
  const mi = new Map(middle.map((s, i) => [s, i] as const));
  const cls = (s: number): Uint32Array => nfa.classes[s] as Uint32Array;
  const key = (x: number, y: number, z: number): number => ((x * middle.length + (mi.get(y) ?? 0)) * nfa.classes.length) + z;
  for (const p of a) {
    for (const q of b) {
      const seen = new Set<number>([key(p, p, q)]);
      const queue: [number, number, number][] = [[p, p, q]];
      while (queue.length > 0) {
        const [x, y, z] = queue.pop() as [number, number, number];
        for (const x2 of succ[x] ?? []) {
          if (!inA.has(x2)) continue;
          for (const z2 of succ[z] ?? []) {
            if (!inB.has(z2) || !intersects(cls(x2), cls(z2))) continue;
            for (const y2 of succ[y] ?? []) {
              budget.spend();
              if (!mi.has(y2) || !intersects(cls(x2), cls(y2), cls(z2))) continue;
              if (x2 === p && y2 === q && z2 === q) return true;
              const k = key(x2, y2, z2);
              if (seen.has(k)) continue;
              seen.add(k);
              queue.push([x2, y2, z2]);
            }
          }
        }
      }
    }
  }
  return false;
}

function closure(start: readonly number[], next: (v: number) => readonly number[]): Set<number> {
  const seen = new Set(start);
  const queue = [...start];
  while (queue.length > 0) for (const w of next(queue.pop() as number)) if (!seen.has(w)) (seen.add(w), queue.push(w));
  return seen;
}

/** The innermost loop whose positions include the positions of all of `states`. */
function loopOf(nfa: Nfa, states: readonly number[]): Loop | undefined {
  const positions = states.map((s) => nfa.origin[s] ?? 0);
  let best: Loop | undefined;
  for (const l of nfa.loops) {
    if (!positions.every((p) => p >= l.from && p < l.to)) continue;
    if (best === undefined || l.to - l.from < best.to - best.from) best = l;
  }
  return best;
}
