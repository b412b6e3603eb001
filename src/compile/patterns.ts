/**
 * LiteLLM's scope pattern rule (§3, `_route_matches_wildcard_pattern`), compiled per list:
 * a pattern ending in `*` is a prefix test (so `*` matches everything, including ""), any other
 * pattern is exact and case-sensitive; a `*` elsewhere, `?` and `.` are literal. A missing value
 * matches only when the literal "*" is in the list.
 */
export interface PatternSet {
  /** The list contains "*": matches every value, including a missing one. */
  readonly isAny: boolean;
  /** The exact values, in list order (duplicates possible). Frozen; shared with the list when it has no `*` pattern. */
  readonly exact: readonly string[];
  /** `exact` as a Set when it is long enough for hashing to beat a scan; undefined otherwise. */
  readonly exactSet: ReadonlySet<string> | undefined;
  /** Prefixes of the trailing-`*` patterns other than "*". */
  readonly prefixes: readonly string[];
}

// A scan compares lengths first, so it beats hashing the request's (never hashed before) string up to a few entries.
const SCAN_LIMIT = 8;
const NONE: readonly string[] = Object.freeze([]);

/**
 * Splits a pattern list into exact values and prefixes. A scope has tens of thousands of these,
 * mostly one or two values long, so a set costs no more than its fields: a list without `*`
 * patterns is kept as `exact` itself (lists from compile/parse are frozen), and a Set is built only
 * for long lists.
 */
export function compilePatterns(patterns: readonly string[]): PatternSet {
  let isAny = false;
  let hasWildcard = false;
  for (const p of patterns) {
    if (p === '*') isAny = true;
    if (p.endsWith('*')) hasWildcard = true;
  }
  const exact = !hasWildcard ? frozen(patterns) : Object.freeze(patterns.filter((p) => !p.endsWith('*')).slice());
  const prefixes = !hasWildcard ? NONE : Object.freeze(patterns.filter((p) => p !== '*' && p.endsWith('*')).map((p) => p.slice(0, -1)));
  const exactSet = exact.length > SCAN_LIMIT ? new Set(exact) : undefined;
  return Object.freeze({ isAny, exact: exact.length === 0 ? NONE : exact, exactSet, prefixes: prefixes.length === 0 ? NONE : prefixes });
}

/**
 * `compilePatterns` for one compile: equal lists (a bundle repeats `models: [gpt-4*]` across
 * thousands of attachments) get the same PatternSet. Drop it with the compile.
 */
export function createPatternCompiler(): (patterns: readonly string[]) => PatternSet {
  const sets = new Map<string, PatternSet>();
  return (patterns) => {
    const key = JSON.stringify(patterns);
    let set = sets.get(key);
    if (set === undefined) sets.set(key, (set = compilePatterns(patterns)));
    return set;
  };
}

/** LiteLLM's `matches_pattern(value, patterns)`. */
export function matchesPatterns(set: PatternSet, value: string | undefined): boolean {
  if (set.isAny) return true;
  if (value === undefined) return false;
  if (set.exactSet !== undefined ? set.exactSet.has(value) : set.exact.includes(value)) return true;
  // Indexed, not for-of: iterating a frozen array allocates an iterator result per step.
  const prefixes = set.prefixes;
  for (let i = 0; i < prefixes.length; i++) if (value.startsWith(prefixes[i] as string)) return true;
  return false;
}

/** The pattern set teams/keys/models default to when unset or empty. */
export const MATCH_ALL: PatternSet = compilePatterns(['*']);

function frozen(list: readonly string[]): readonly string[] {
  return Object.isFrozen(list) ? list : Object.freeze(list.slice());
}
