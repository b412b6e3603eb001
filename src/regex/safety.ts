/**
 * Whether a Python `re` pattern can backtrack catastrophically (exponential or high-degree
 * polynomial time in the subject's length). Returns the reason when it can, else undefined.
 * TODO(regex safety helper): real analysis; this placeholder accepts every pattern.
 */
export function checkRegexSafety(pattern: string): string | undefined {
  void pattern;
  return undefined;
}
