import { compileCondition, type CompiledCondition } from '../compile/condition.js';
import type { ConditionSpec } from '../model/policy.js';

/**
 * Models that a policy condition tells apart (semantics §2). A condition is a Python regex (or a
 * list of them), so its classes cannot be listed exactly; instead each pattern gives a few
 * candidate models read off the pattern itself (the literal, and the pattern with its common regex
 * pieces replaced by text they match: `gpt-4.*` gives `gpt-4` and `gpt-4-x`), and a candidate is
 * kept only when the real condition matches it. A pattern none of whose candidates match is
 * "unsampled": models matching it may form a class no witness stands for, and the report says so
 * when such a condition belongs to a changed policy.
 */
export interface ConditionSamples {
  /** Models matching some pattern of the condition, each checked against it. */
  readonly models: readonly string[];
  /** Patterns for which no candidate matched. */
  readonly unsampled: readonly string[];
}

const cache = new Map<string, ConditionSamples>();

/** The samples of a condition (memoised per condition for the process: conditions repeat across policies). */
export function conditionSamples(spec: ConditionSpec): ConditionSamples {
  if (spec.model === null) return { models: [], unsampled: [] };
  const key = JSON.stringify(spec.model);
  let found = cache.get(key);
  if (found !== undefined) return found;
  const patterns = typeof spec.model === 'string' ? [spec.model] : spec.model;
  const models = new Set<string>();
  const unsampled: string[] = [];
  for (const pattern of patterns) {
    const single = compileCondition({ model: pattern });
    const hits = candidates(pattern).filter((c) => single.test(c));
    if (hits.length === 0) unsampled.push(pattern);
    for (const h of hits) models.add(h);
  }
  found = Object.freeze({ models: Object.freeze([...models]), unsampled: Object.freeze(unsampled) });
  if (cache.size > 10_000) cache.clear();
  cache.set(key, found);
  return found;
}

/** A condition as a test, memoised per condition spec. */
export function conditionTest(spec: ConditionSpec): CompiledCondition {
  return compileCondition(spec, tests);
}
const tests = new Map<string, CompiledCondition>();

/** Candidate models read off a pattern: two rewritings of common regex pieces, then the pattern itself. */
function candidates(pattern: string): string[] {
  const out = new Set<string>();
  for (const star of ['', '-x']) {
    let s = pattern.replace(/^\(\?[aiLmsux]+\)/, '').replace(/^\^/, '').replace(/\$$/, '');
    s = s.replace(/\((?:\?:)?([^()|]*)(?:\|[^()]*)?\)/g, '$1'); // (a|b) -> a
    s = s.replace(/\[\^?([^\]])[^\]]*\]/g, (m, c: string) => (m.startsWith('[^') ? '~' : c === '\\' ? '0' : c));
    s = s.replace(/\\d[+*]?/g, '0').replace(/\\w[+*]?/g, 'a').replace(/\\s[+*]?/g, ' ');
    s = s.replace(/\.\*/g, star).replace(/\.\+/g, 'x').replace(/\\\./g, '\u0000').replace(/\./g, 'x').replace(/\u0000/g, '.');
    s = s.replace(/(.)[?*]/g, '').replace(/(.)\+/g, '$1').replace(/\{\d+(,\d*)?\}/g, '');
    s = s.replace(/\\(.)/g, '$1');
    out.add(s);
  }
  // The pattern itself last: it always matches by string equality, but reads worse as a model.
  out.add(pattern);
  return [...out];
}
