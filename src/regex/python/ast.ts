// The parsed form of a Python pattern, shared by the parser, the analysis and the emitter. Leaf nodes
// carry the flags in force where they were parsed, because scoped flags `(?i:...)` change them mid-pattern.

/** CPython's `MAXREPEAT`: a repeat whose `max` is this is unbounded. */
export const MAXREPEAT = 4294967295;

/** The flags that change matching: IGNORECASE, MULTILINE, DOTALL, VERBOSE and ASCII. */
export interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly x: boolean;
  readonly a: boolean;
}

/** The category escapes `\d \D \s \S \w \W`. */
export type Cat = 'd' | 'D' | 's' | 'S' | 'w' | 'W';
/** One member of a character class: a code point, a range, or a category. */
export type Item =
  | { readonly t: 'lit'; readonly cp: number }
  | { readonly t: 'range'; readonly lo: number; readonly hi: number }
  | { readonly t: 'cat'; readonly cat: Cat };
/** A zero-width assertion: `^`, `$`, `\A`, `\Z`, `\b` or `\B`. */
export type At = 'bol' | 'eol' | 'A' | 'Z' | 'b' | 'B';

/** A parsed pattern node; `k` is its kind, `in` being a character class as in CPython's `IN` opcode. */
export type Node =
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
