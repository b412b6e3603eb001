import { runBounded } from '../safety/bounded.js';
import { translatePythonPattern } from './translate.js';

/** A Python `re` pattern compiled for fullmatch, or why it could not be (see {@link compilePythonFullmatch}). */
export type PythonPattern =
  | {
      readonly ok: true;
      readonly jsSource: string;
      readonly jsFlags: string;
      readonly fullmatch: (s: string) => boolean;
    }
  | { readonly ok: false; readonly reason: 'invalid' | 'unsupported'; readonly message: string };

const JS_FLAGS = 'v';

/**
 * V8 compiles a regex lazily, once per subject encoding, so each new one is run on '' and '\u0100'
 * to make size limits fail here, not per request. Those runs are matches, and a pattern that
 * backtracks exponentially in a repeat's count (`(?:a?|b?){24}c`) takes seconds even on them: each
 * runs under the watchdog, and running out is fine (V8 compiled the regex before matching).
 */
const WARM_UP_MS = 50;

function warmUp(re: RegExp, subject: string): void {
  runBounded(() => {
    re.lastIndex = 0;
    re.test(subject);
  }, WARM_UP_MS);
  re.lastIndex = 0;
}

/**
 * Compiles a Python `re` pattern for fullmatch. 'invalid': Python's re.compile raises re.error.
 * 'unsupported': valid Python we cannot translate faithfully.
 */
export function compilePythonFullmatch(pattern: string): PythonPattern {
  let jsSource: string;
  let re: RegExp;
  try {
    const translated = translatePythonPattern(pattern);
    if (!translated.ok) return Object.freeze({ ...translated });
    jsSource = `^(?:${translated.source})$`;
    re = new RegExp(jsSource, JS_FLAGS);
    warmUp(re, '');
    warmUp(re, '\u0100');
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return Object.freeze({ ok: false, reason: 'unsupported', message: `could not translate: ${detail}` });
  }
  const fullmatch = (s: string): boolean => re.test(s);
  return Object.freeze({ ok: true, jsSource, jsFlags: JS_FLAGS, fullmatch });
}

/** A Python `re` pattern compiled for searching (LiteLLM's `re.search`/`re.sub`), or why it could not be. */
export type PythonSearchPattern =
  | { readonly ok: true; readonly jsSource: string; readonly regex: RegExp }
  | { readonly ok: false; readonly reason: 'invalid' | 'unsupported'; readonly message: string };

/**
 * Compiles a Python `re` pattern for searching anywhere in a text. The RegExp has the `g` flag
 * (for replace and matchAll); callers that use `test`/`exec` must reset `lastIndex`.
 */
export function compilePythonSearch(pattern: string): PythonSearchPattern {
  try {
    const translated = translatePythonPattern(pattern);
    if (!translated.ok) return Object.freeze({ ...translated });
    const regex = new RegExp(translated.source, `g${JS_FLAGS}`);
    warmUp(regex, '');
    warmUp(regex, '\u0100');
    return Object.freeze({ ok: true, jsSource: translated.source, regex });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return Object.freeze({ ok: false, reason: 'unsupported', message: `could not translate: ${detail}` });
  }
}
