import type { Severity } from '../../model/issue.js';
import type { ValidationMode } from '../../model/policy.js';
import { runBounded, TIMED_OUT } from '../../regex/safety/bounded.js';
import { compilePythonSearch } from '../../regex/python/python-regex.js';
import { checkRegexSafety } from '../../regex/safety/check.js';

/** A content filter regex ready to search with, or why it cannot be used (already reported). */
export type ContentPattern = { readonly ok: true; readonly regex: RegExp } | { readonly ok: false; readonly message: string };

/** Receives the problems of a user's pattern, as messages naming the pattern (config text). */
export type PatternProblem = (severity: Severity, rule: 'invalid_guardrail_config' | 'unsafe_regex', message: string) => void;

/**
 * Compiles a Python `re` search pattern for the content filter. With `userPattern` and `report`
 * (a custom pattern: `source` is what runs, e.g. `(?i)` + `userPattern`), also reports: a pattern
 * Python rejects (error) or we cannot translate (`onUnsupported` when given, else an error), one that can backtrack catastrophically
 * (`checkRegexSafety` of `source`, so under the flags it runs with: error in strict mode, warning
 * in compat), and one that matches the empty string (error: it would match every text). Prebuilt
 * patterns are checked by tests instead.
 */
export function compileContentPattern(
  source: string,
  userPattern?: string,
  mode?: ValidationMode,
  report?: PatternProblem,
  onUnsupported?: (message: string) => void,
): ContentPattern {
  const compiled = compilePythonSearch(source);
  const shown = JSON.stringify(userPattern ?? source);
  if (!compiled.ok) {
    const message =
      compiled.reason === 'invalid'
        ? `pattern ${shown} is not a valid Python regular expression (${compiled.message})`
        : `pattern ${shown} uses Python regex syntax the sidecar cannot run (${compiled.message})`;
    // Valid Python the sidecar cannot translate: LiteLLM runs it, so the guardrail is only not executable here.
    if (compiled.reason === 'unsupported' && onUnsupported !== undefined) onUnsupported(message);
    else report?.('error', 'invalid_guardrail_config', message);
    return { ok: false, message };
  }
  if (userPattern !== undefined && report !== undefined) {
    // Checked as it runs: `(?:xy|XY)+` is safe alone and exponential under (?i).
    const unsafe = checkRegexSafety(source);
    if (unsafe !== undefined) {
      // Compat mode still runs the pattern, as LiteLLM would, within the time budget every custom pattern has.
      const outcome = mode === 'compat' ? '; compat mode runs it within its time budget, and a text it cannot search within the budget ends the step in error' : '';
      report(mode === 'compat' ? 'warning' : 'error', 'unsafe_regex', `pattern ${shown} can backtrack catastrophically (${unsafe})${outcome}`);
      if (mode !== 'compat') return { ok: false, message: unsafe };
    }
    const empty = matchesEmpty(compiled.regex);
    if (empty !== false) {
      const message =
        empty === true
          ? `pattern ${shown} matches the empty string, so it would match every text`
          : `pattern ${shown} backtracks for more than ${EMPTY_CHECK_MS} ms on the empty string, so it would run out of its time budget on every text`;
      report('error', 'invalid_guardrail_config', message);
      return { ok: false, message };
    }
  }
  return { ok: true, regex: compiled.regex };
}

/** Whether the pattern matches '' (a search of any text would), or 'slow' if that takes longer than EMPTY_CHECK_MS. */
const EMPTY_CHECK_MS = 50;

function matchesEmpty(regex: RegExp): boolean | 'slow' {
  const m = runBounded(() => {
    regex.lastIndex = 0;
    return regex.exec('');
  }, EMPTY_CHECK_MS);
  regex.lastIndex = 0;
  return m === TIMED_OUT ? 'slow' : m !== null;
}

/** `s` as a JS `u`-mode regex source that matches it literally. */
export function escapeRegExpLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
