// Port of CPython 3.11/3.12 `re._parser` (plus the checks `re._compiler` makes) to a translator that
// emits JavaScript `v`-mode source with the same fullmatch semantics. Function and message names follow
// CPython so the two can be compared side by side.
// Stages: parse (parse.ts), analyze what JS would do differently, then emit.

import { analyze } from './analyze.js';
import type { Node } from './ast.js';
import { Emitter } from './emit.js';
import { ReError, Unsupportable } from './errors.js';
import { Parser } from './parse.js';

/** Outcome of translating a Python pattern: JS `v`-mode source (unanchored), or why there is none. */
export type Translation =
  | { readonly ok: true; readonly source: string }
  | { readonly ok: false; readonly reason: 'invalid' | 'unsupported'; readonly message: string };

/** Translates a Python `re` pattern (str, no flags argument) into unanchored JS `v`-mode source. */
export function translatePythonPattern(pattern: string): Translation {
  let parser: Parser | undefined;
  let items: Node[];
  try {
    parser = new Parser(pattern);
    items = parser.parse();
  } catch (e) {
    if (e instanceof ReError) return { ok: false, reason: 'invalid', message: `re.error: ${e.message}` };
    if (e instanceof Unsupportable) return { ok: false, reason: 'unsupported', message: e.message };
    throw e;
  }
  const { referenced, problems } = analyze(items, parser.groupWidths);
  const reasons = [...new Set([...parser.unsupported, ...problems])];
  if (reasons.length > 0) return { ok: false, reason: 'unsupported', message: `not supported: ${reasons.join('; ')}` };
  return { ok: true, source: new Emitter(referenced).body(items) };
}
