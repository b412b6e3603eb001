/**
 * LiteLLM's scope pattern rule (§3, `_route_matches_wildcard_pattern`), compiled per list:
 * a pattern ending in `*` is a prefix test (so `*` matches everything, including ""), any other
 * pattern is exact and case-sensitive; a `*` elsewhere, `?` and `.` are literal. A missing value
 * matches only when the literal "*" is in the list.
 */
export interface PatternSet {
  /** The list contains "*": matches every value, including a missing one. */
  readonly isAny: boolean;
  readonly exact: ReadonlySet<string>;
  /** Prefixes of the trailing-`*` patterns other than "*". */
  readonly prefixes: readonly string[];
}

/** Splits a pattern list into exact values and prefixes. */
export function compilePatterns(patterns: readonly string[]): PatternSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  let isAny = false;
  for (const p of patterns) {
    if (p === '*') isAny = true;
    else if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return Object.freeze({ isAny, exact, prefixes: Object.freeze(prefixes) });
}

/** LiteLLM's `matches_pattern(value, patterns)`. */
export function matchesPatterns(set: PatternSet, value: string | undefined): boolean {
  if (set.isAny) return true;
  if (value === undefined) return false;
  if (set.exact.has(value)) return true;
  for (const p of set.prefixes) if (value.startsWith(p)) return true;
  return false;
}

/** The pattern set teams/keys/models default to when unset or empty. */
export const MATCH_ALL: PatternSet = compilePatterns(['*']);
