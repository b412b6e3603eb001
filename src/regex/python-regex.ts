import { translatePythonPattern } from './python-regex-translate.js';

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
