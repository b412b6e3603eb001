import type { Bundle, DocPath } from '../../model/bundle.js';
import type { Issue, IssueRule, SourcePosition } from '../../model/issue.js';
import { issueAt } from '../issues.js';

/** A YAML mapping as plain data: what `isMapping` accepts. */
export type Mapping = Record<string, unknown>;

/** Reports one problem of the item being parsed, which then fails as a whole. */
export type Bad = (cause: string, path: DocPath, atKey?: boolean) => void;

/** Collects the issues of one parse; `atKey` issues are located at the mapping key rather than its value. */
export class ParseContext {
  readonly issues: Issue[] = [];
  private readonly keyView: Bundle;
  // A parsed document has a string object per occurrence: one per distinct value is kept instead.
  private readonly strings = new Map<string, string>();

  constructor(readonly bundle: Bundle) {
    this.keyView = { ...bundle, locate: (path) => this.keyPosition(path) ?? bundle.locate(path) };
  }

  /** Adds an error at `path`. */
  error(rule: IssueRule, message: string, path: DocPath, atKey = false): void {
    this.issues.push(issueAt(atKey ? this.keyView : this.bundle, 'error', rule, message, path));
  }

  /** Adds a warning at `path`. */
  warn(rule: IssueRule, message: string, path: DocPath, atKey = false): void {
    this.issues.push(issueAt(atKey ? this.keyView : this.bundle, 'warning', rule, message, path));
  }

  /** Warns about each key of `obj` not in `known`; `hint` may add advice for a key. */
  unknownKeys(obj: Mapping, path: DocPath, known: readonly string[], where: string, hint?: (key: string) => string | undefined): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const advice = hint?.(key) ?? didYouMean(key, known);
      this.warn('unknown_key', `unknown key '${key}' in ${where} is ignored by LiteLLM${advice}`, [...path, key], true);
    }
  }

  /**
   * The first string equal to `s` seen by this parse: the names a snapshot keeps (policy names in
   * attachments, guardrail names in lists) then share one string each instead of one per mention.
   */
  intern(s: string): string {
    const seen = this.strings.get(s);
    if (seen !== undefined) return seen;
    this.strings.set(s, s);
    return s;
  }

  /** Keys of the mapping at `path` in document order (JS objects put integer-like keys first). */
  orderedKeys(obj: Mapping, path: DocPath): string[] {
    const source = this.bundle.keysAt(path)?.map((k) => k.name).filter((k) => Object.hasOwn(obj, k));
    if (!source) return Object.keys(obj);
    const seen = new Set(source);
    return [...source, ...Object.keys(obj).filter((k) => !seen.has(k))];
  }

  // The last occurrence, because that is the one PyYAML (and `data`) keep.
  private keyPosition(path: DocPath): SourcePosition | undefined {
    const last = path[path.length - 1];
    if (last === undefined || typeof last === 'number') return undefined;
    return this.bundle.keysAt(path.slice(0, -1))?.find((k) => k.name === last)?.positions.at(-1);
  }
}

/** `; did you mean 'x'?` for a near miss of a known key, else ''. */
export function didYouMean(key: string, known: readonly string[]): string {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = levenshtein(norm(key), norm(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= (norm(key).length > 4 ? 2 : 1) ? `; did you mean '${best}'?` : '';
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Whether `v` is a YAML mapping (a plain object), not a list, date or other value. */
export function isMapping(v: unknown): v is Mapping {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whether `v` is a list of strings only. */
export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Python truthiness of a YAML value. */
export function isTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return Object.keys(v).length > 0;
  return true;
}
