import { PdpError } from '../../errors.js';
import type { DocPath, SourceKey } from '../../model/bundle.js';
import type { ResolveRequest } from '../../model/decision.js';
import type { SourcePosition } from '../../model/issue.js';
import type { PipelineRequest } from '../../model/pipeline-run.js';
import { toPipelineRequest } from '../../server/convert/pipeline.js';
import { toResolveRequest } from '../../server/convert/resolve.js';
import { parseYamlDocument } from '../../sources/document/yaml-document.js';
import { executePipelineRequestFromJson, RequestJsonError, resolveRequestFromJson } from '../request-json.js';
import { EXPECT_FIELDS, STEP_ACTIONS, STEP_KEYS, STEP_OUTCOMES, TERMINAL_ACTIONS, type CaseKind, type Expectation, type ExpectType } from './expect.js';

/** Most cases in one run, over all its suites. */
export const MAX_CASES = 10_000;

/** One case of a suite, its request checked as the server checks one (everything that needs no snapshot). */
export type SuiteCase = (
  | { readonly kind: 'resolve'; readonly request: ResolveRequest }
  | { readonly kind: 'pipeline'; readonly request: PipelineRequest }
) & {
  readonly name: string;
  /** Where the case starts in its suite. */
  readonly line: number;
  readonly column: number;
  readonly expect: readonly Expectation[];
};

/** A parsed suite file: `file` as the command was given it (or found it). */
export interface Suite {
  readonly file: string;
  readonly cases: readonly SuiteCase[];
}

/** A problem in a suite file; line and column are 1-based, 0 when unknown. */
export interface SuiteIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** `file:line:column: bad suite: message`. */
export function formatSuiteIssue(i: SuiteIssue): string {
  return `${i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file}: bad suite: ${i.message}`;
}

/** The keys of a case, by kind; a case naming `policy` or `pipeline` is a pipeline case. */
const CASE_KEYS: Readonly<Record<CaseKind, readonly string[]>> = {
  resolve: ['name', 'context', 'request_policies', 'key_policies', 'team_policies', 'expect'],
  pipeline: ['name', 'policy', 'pipeline', 'mode', 'messages', 'response_text', 'context', 'expect'],
};
/** The keys of a pipeline case's request, with their ExecutePipelineRequest names. */
const PIPELINE_REQUEST_KEYS: Readonly<Record<string, string>> = {
  policy: 'policy_name',
  pipeline: 'pipeline',
  mode: 'mode',
  messages: 'messages',
  response_text: 'response_text',
  context: 'context',
};

/**
 * Parses a suite (YAML, as bundles are parsed) into its cases, or every problem found, each with
 * its line and column: YAML errors, duplicate keys, unknown keys, wrong types, expectations that
 * are not written as their field's type, and requests the server would refuse. Messages name
 * fields, never the suite's values.
 */
export function parseSuite(file: string, text: string): { ok: true; suite: Suite } | { ok: false; issues: SuiteIssue[] } {
  const parsed = parseYamlDocument(text);
  if (!parsed.ok) return { ok: false, issues: parsed.problems.map((p) => ({ file, ...p })) };
  const { data, locate, keysAt, duplicateKeys } = parsed.document;
  const issues: SuiteIssue[] = [];
  const at = (path: DocPath): SourcePosition => locate(path);
  const report = (path: DocPath, message: string): void => void issues.push({ file, ...at(path), message });
  const reportAt = (position: SourcePosition | undefined, message: string): void => void issues.push({ file, ...(position ?? { line: 0, column: 0 }), message });
  for (const d of duplicateKeys)
    for (const position of d.positions.slice(1)) reportAt(position, `duplicate key '${String(d.path[d.path.length - 1])}'; give each key once`);

  /**
   * Reports every key of `value` (the mapping at `path`) that is not in `allowed`, at the key, or
   * at the mapping for a key a YAML merge (`<<: *anchor`) brought in; `why` explains a key.
   */
  const checkKeys = (path: DocPath, value: Record<string, unknown>, allowed: readonly string[], where: string, why: (key: string) => string = () => ''): void => {
    const written = new Map((keysAt(path) ?? ([] as SourceKey[])).map((k) => [k.name, k.positions[0]]));
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) reportAt(written.get(key) ?? at(path), `unknown key '${key}' in ${where}${why(key)}; expected one of ${allowed.join(', ')}`);
  };

  if (!isObject(data)) {
    report([], 'a suite must be a mapping with a cases: list');
    return { ok: false, issues };
  }
  checkKeys([], data, ['cases'], 'the suite');
  const rawCases = data.cases;
  if (rawCases === undefined) report([], 'a suite needs cases: a list of cases');
  else if (!Array.isArray(rawCases)) report(['cases'], 'cases: must be a list of cases');
  else if (rawCases.length === 0) report(['cases'], 'cases: is empty; give at least one case');
  else if (rawCases.length > MAX_CASES) report(['cases'], `cases: has ${rawCases.length} cases; at most ${MAX_CASES} are run`);
  const cases: SuiteCase[] = [];
  const names = new Set<string>();
  if (Array.isArray(rawCases) && rawCases.length <= MAX_CASES) {
    rawCases.forEach((raw: unknown, i) => {
      const c = parseCase(['cases', i], raw);
      if (c !== undefined) cases.push(c);
    });
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, suite: { file, cases } };

  function parseCase(path: DocPath, raw: unknown): SuiteCase | undefined {
    if (!isObject(raw)) {
      report(path, 'a case must be a mapping: name:, the request, and expect:');
      return undefined;
    }
    const before = issues.length;
    const kind: CaseKind = has(raw, 'policy') || has(raw, 'pipeline') ? 'pipeline' : 'resolve';
    const other: CaseKind = kind === 'resolve' ? 'pipeline' : 'resolve';
    checkKeys(path, raw, CASE_KEYS[kind], `a ${kind} case`, (key) =>
      CASE_KEYS[other].includes(key) ? ` (${kind === 'resolve' ? 'a pipeline case names policy or pipeline' : 'it belongs to a resolve case'})` : '',
    );
    const name = raw.name;
    if (typeof name !== 'string' || name.trim() === '') report(has(raw, 'name') ? [...path, 'name'] : path, 'a case needs a name: a non-empty string');
    else if (names.has(name)) report([...path, 'name'], `case name '${name}' is used twice in this suite; give each case its own name`);
    else names.add(name);
    const expect = parseExpect([...path, 'expect'], raw.expect, kind);
    const request = kind === 'resolve' ? parseResolveRequest(path, raw) : parsePipelineRequest(path, raw);
    if (issues.length > before || request === undefined || typeof name !== 'string') return undefined;
    const { line, column } = at(path);
    return { kind, request, name, line, column, expect } as SuiteCase;
  }

  function parseResolveRequest(path: DocPath, raw: Record<string, unknown>): ResolveRequest | undefined {
    const json = pick(raw, ['context', 'request_policies', 'key_policies', 'team_policies']);
    return checkRequest(path, () => toResolveRequest(resolveRequestFromJson(json, 'case')));
  }

  function parsePipelineRequest(path: DocPath, raw: Record<string, unknown>): PipelineRequest | undefined {
    if (has(raw, 'policy') && has(raw, 'pipeline')) {
      report(path, 'a pipeline case gives policy (a policy name) or pipeline (an inline pipeline), not both');
      return undefined;
    }
    if (has(raw, 'policy') && (typeof raw.policy !== 'string' || raw.policy === '')) {
      report([...path, 'policy'], 'policy must be a policy name (a non-empty string)');
      return undefined;
    }
    const json = Object.fromEntries(Object.entries(PIPELINE_REQUEST_KEYS).filter(([key]) => has(raw, key)).map(([key, field]) => [field, raw[key]]));
    return checkRequest(path, () => toPipelineRequest(executePipelineRequestFromJson(json, 'case')));
  }

  /** The request `build` returns, or undefined after reporting why the server would refuse it. */
  function checkRequest<T>(path: DocPath, build: () => T): T | undefined {
    try {
      return build();
    } catch (e) {
      if (!(e instanceof PdpError)) throw e;
      // The ExecutePipelineRequest's policy_name is the case's `policy`.
      const inCase = e instanceof RequestJsonError ? e.path.map((p, i) => (i === 0 && p === 'policy_name' ? 'policy' : p)) : [];
      report([...path, ...inCase], e.message);
      return undefined;
    }
  }

  function parseExpect(path: DocPath, raw: unknown, kind: CaseKind): Expectation[] {
    const fields = EXPECT_FIELDS[kind];
    const known = Object.keys(fields);
    if (!isObject(raw) || Object.keys(raw).length === 0) {
      report(raw === undefined ? path.slice(0, -1) : path, `a ${kind} case needs expect: a mapping with at least one of ${known.join(', ')}`);
      return [];
    }
    const otherFields = Object.keys(EXPECT_FIELDS[kind === 'resolve' ? 'pipeline' : 'resolve']);
    checkKeys(path, raw, known, `the expect: of a ${kind} case`, (key) => (otherFields.includes(key) ? ` (it belongs to a ${kind === 'resolve' ? 'pipeline' : 'resolve'} case)` : ''));
    const out: Expectation[] = [];
    for (const [field, value] of Object.entries(raw)) {
      const type = fields[field];
      if (type === undefined || !checkValue([...path, field], value, type, `expect.${field}`)) continue;
      out.push({ field, value, ...at([...path, field]) });
    }
    return out;
  }

  /** True when `v` is written as `type`; otherwise reports why (under `where`) and returns false. */
  function checkValue(path: DocPath, v: unknown, type: ExpectType, where: string): boolean {
    const fail = (p: DocPath, message: string): false => (report(p, message), false);
    switch (type) {
      case 'names':
        return isStringList(v) || fail(path, `${where} must be a list of names (strings)`);
      case 'text':
        return typeof v === 'string' || fail(path, `${where} must be a string`);
      case 'terminal-action':
        return isOneOf(v, TERMINAL_ACTIONS) || fail(path, `${where} must be one of ${TERMINAL_ACTIONS.join(', ')}`);
      case 'names-map':
        if (!isObject(v)) return fail(path, `${where} must be a mapping of policy names to how each matched (e.g. "team:health-*")`);
        return Object.entries(v).every(([k, x]) => typeof x === 'string' || fail([...path, k], `${where}.${k} must be a string`));
      case 'messages':
        if (!Array.isArray(v)) return fail(path, `${where} must be a list of messages ({role, content})`);
        return v.every((m: unknown, i) => {
          const p = [...path, i];
          if (!isObject(m)) return fail(p, `${where}[${i}] must be a mapping with role and content`);
          const before = issues.length;
          checkKeys(p, m, ['role', 'content'], `${where}[${i}]`);
          for (const key of ['role', 'content']) if (typeof m[key] !== 'string') fail(has(m, key) ? [...p, key] : p, `${where}[${i}].${key} must be a string`);
          return issues.length === before;
        });
      case 'steps':
        if (!Array.isArray(v)) return fail(path, `${where} must be a list of steps ({guardrail, outcome, action, detail})`);
        return v.every((s: unknown, i) => {
          const p = [...path, i];
          if (!isObject(s)) return fail(p, `${where}[${i}] must be a mapping with guardrail and outcome (and optionally action, detail)`);
          const before = issues.length;
          checkKeys(p, s, STEP_KEYS, `${where}[${i}]`);
          if (typeof s.guardrail !== 'string') fail(has(s, 'guardrail') ? [...p, 'guardrail'] : p, `${where}[${i}].guardrail must be a guardrail name (a string)`);
          if (!isOneOf(s.outcome, STEP_OUTCOMES)) fail(has(s, 'outcome') ? [...p, 'outcome'] : p, `${where}[${i}].outcome must be one of ${STEP_OUTCOMES.join(', ')}`);
          if (has(s, 'action') && !isOneOf(s.action, STEP_ACTIONS)) fail([...p, 'action'], `${where}[${i}].action must be one of ${STEP_ACTIONS.join(', ')}`);
          if (has(s, 'detail') && typeof s.detail !== 'string') fail([...p, 'detail'], `${where}[${i}].detail must be a string`);
          return issues.length === before;
        });
    }
  }
}

function pick(raw: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => has(raw, k)).map((k) => [k, raw[k]]));
}

function has(o: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(o, key);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isOneOf(v: unknown, names: readonly string[]): boolean {
  return typeof v === 'string' && names.includes(v);
}
