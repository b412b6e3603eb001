/**
 * A value described for a message: its type, and the value itself only for numbers and booleans.
 * Never a string's content, because a string may be prompt text (a vendor's answer echoing the
 * prompt) or a secret (a misplaced credential in a config): "a string", "a list", "a mapping",
 * "a number (3)", "a boolean (true)", "null", "nothing" (a missing key or field), "a date".
 * The one describer for bundle settings, guardrail settings and guardrail answers alike.
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number' || typeof v === 'boolean') return `a ${typeof v} (${String(v)})`;
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  return typeof v === 'object' ? 'a mapping' : 'a value of another type';
}
