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
    // V8 compiles lazily, once per subject encoding: force both now so size limits fail here, not per request.
    re.test('');
    re.test('\u0100');
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
    regex.test('');
    regex.lastIndex = 0;
    regex.test('\u0100');
    regex.lastIndex = 0;
    return Object.freeze({ ok: true, jsSource: translated.source, regex });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return Object.freeze({ ok: false, reason: 'unsupported', message: `could not translate: ${detail}` });
  }
}
