import type { Bundle, DocPath } from '../model/bundle.js';
import { compareIssues, type Issue, type IssueRule, type SourcePosition } from '../model/issue.js';
import type {
  Action,
  AttachmentSpec,
  ConditionSpec,
  GuardrailSpec,
  PipelineMode,
  PipelineSpec,
  PipelineStepSpec,
  PolicySpec,
} from '../model/policy.js';
import { duplicateKeysOf, sourceKeysAt } from '../sources/yaml-bundle.js';
import { formatPath, issueAt } from './issues.js';

/** The three sections LiteLLM reads, parsed field by field (LITELLM_SEMANTICS.md §1, §3, §8). Frozen. */
export interface ParsedBundle {
  readonly guardrails: readonly GuardrailSpec[];
  /** Document order. Policies that fail LiteLLM's parser are left out (and reported). */
  readonly policies: readonly PolicySpec[];
  readonly attachments: readonly AttachmentSpec[];
}

/**
 * Parses a bundle exactly as LiteLLM's config parser and loaders would, reporting every problem
 * at once: parser failures as errors (`invalid_syntax`, `invalid_attachment`, `invalid_bundle`,
 * `duplicate_guardrail`), keys LiteLLM silently ignores as `unknown_key` warnings. Issues are sorted.
 */
export function parseBundle(bundle: Bundle): { parsed: ParsedBundle; issues: Issue[] } {
  const ctx = new Context(bundle);
  const data = bundle.data;
  let parsed: ParsedBundle = EMPTY;
  if (isMapping(data)) {
    ctx.duplicateKeys();
    ctx.nearMissSections(data);
    parsed = Object.freeze({
      guardrails: parseGuardrails(ctx, data.guardrails),
      policies: parsePolicies(ctx, data.policies),
      attachments: parseAttachments(ctx, data.policy_attachments),
    });
  } else if (data !== null && data !== undefined) {
    ctx.error('invalid_bundle', `the bundle must be a mapping (guardrails:, policies:, policy_attachments:), got ${describe(data)}`, []);
  }
  return { parsed, issues: ctx.issues.sort(compareIssues) };
}

const EMPTY: ParsedBundle = Object.freeze({ guardrails: Object.freeze([]), policies: Object.freeze([]), attachments: Object.freeze([]) });
const SECTIONS = ['guardrails', 'policies', 'policy_attachments'];
const POLICY_KEYS = ['inherit', 'description', 'guardrails', 'condition', 'pipeline'];
const STEP_KEYS = ['guardrail', 'on_fail', 'on_pass', 'pass_data', 'modify_response_message', 'on_error', 'timeout_ms'];
const ATTACHMENT_KEYS = ['policy', 'scope', 'teams', 'keys', 'models', 'tags'];
const LIST_FIELDS = ['teams', 'keys', 'models', 'tags'] as const;
const POLICY_KEY_ALIASES: Readonly<Record<string, string>> = {
  guardrail: 'guardrails',
  inherits: 'inherit',
  extends: 'inherit',
  parent: 'inherit',
  conditions: 'condition',
};
const ACTIONS: readonly Action[] = ['allow', 'block', 'modify_response', 'next'];
const MODES: readonly PipelineMode[] = ['post_call', 'pre_call'];
// LiteLLM prints sorted(...) of its sets in these messages.
const ACTION_LIST = `['allow', 'block', 'modify_response', 'next']`;
const MODE_LIST = `['post_call', 'pre_call']`;

/** Collects issues; `atKey` issues are located at the mapping key rather than its value. */
class Context {
  readonly issues: Issue[] = [];
  private readonly keyView: Bundle;

  constructor(readonly bundle: Bundle) {
    this.keyView = { ...bundle, locate: (path) => this.keyPosition(path) ?? bundle.locate(path) };
  }

  error(rule: IssueRule, message: string, path: DocPath, atKey = false): void {
    this.issues.push(issueAt(atKey ? this.keyView : this.bundle, 'error', rule, message, path));
  }

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

  /** Keys of the mapping at `path` in document order (JS objects put integer-like keys first). */
  orderedKeys(obj: Mapping, path: DocPath): string[] {
    const source = sourceKeysAt(this.bundle, path)?.map((k) => k.name).filter((k) => Object.hasOwn(obj, k));
    if (!source) return Object.keys(obj);
    const seen = new Set(source);
    return [...source, ...Object.keys(obj).filter((k) => !seen.has(k))];
  }

  /** PyYAML silently keeps the last of duplicate keys: report those in the sections we read. */
  duplicateKeys(): void {
    for (const { path, positions } of duplicateKeysOf(this.bundle)) {
      if (!SECTIONS.includes(String(path[0]))) continue;
      const lines = positions.map((p) => p.line);
      const times = lines.length === 2 ? 'twice' : `${lines.length} times`;
      const parent = path.slice(0, -1);
      const name = String(path[path.length - 1]);
      const what =
        parent.length === 1 && parent[0] === 'policies'
          ? `policy '${name}' is defined ${times}`
          : `key '${name}' is given ${times} in ${formatPath(parent) || 'the top level'}`;
      this.error('invalid_bundle', `${what} (lines ${joinAnd(lines)}); LiteLLM would silently keep the last`, path, true);
    }
  }

  /** Other top-level keys are LiteLLM's (model_list, ...): only near misses of ours are worth a word. */
  nearMissSections(data: Mapping): void {
    for (const key of Object.keys(data)) {
      if (SECTIONS.includes(key)) continue;
      const advice = key === 'attachments' ? "; did you mean 'policy_attachments'?" : didYouMean(key, SECTIONS);
      if (advice) this.warn('unknown_key', `top-level key '${key}' is not read by the policy engine${advice}`, [key], true);
    }
  }

  private keyPosition(path: DocPath): SourcePosition | undefined {
    const last = path[path.length - 1];
    if (last === undefined || typeof last === 'number') return undefined;
    return sourceKeysAt(this.bundle, path.slice(0, -1))?.find((k) => k.name === last)?.positions.at(-1);
  }
}

function parseGuardrails(ctx: Context, raw: unknown): readonly GuardrailSpec[] {
  if (raw === null || raw === undefined) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    ctx.error('invalid_bundle', `guardrails must be a list of guardrail definitions, got ${describe(raw)}`, ['guardrails']);
    return Object.freeze([]);
  }
  const out: GuardrailSpec[] = [];
  const first = new Map<string, number>();
  raw.forEach((entry: unknown, i) => {
    const spec = parseGuardrail(ctx, entry, i);
    if (!spec) return;
    const seen = first.get(spec.name);
    if (seen === undefined) {
      first.set(spec.name, i);
      out.push(spec);
      return;
    }
    const message = `guardrail '${spec.name}' is defined twice (guardrails[${seen}] and guardrails[${i}]); guardrail names must be unique`;
    ctx.error('duplicate_guardrail', message, ['guardrails', i, 'guardrail_name']);
  });
  return Object.freeze(out);
}

function parseGuardrail(ctx: Context, entry: unknown, i: number): GuardrailSpec | undefined {
  const path = ['guardrails', i];
  const bad = (message: string, at: DocPath): undefined => {
    ctx.error('invalid_bundle', message, at);
    return undefined;
  };
  if (!isMapping(entry)) {
    return bad(`guardrails[${i}] must be a mapping with guardrail_name and litellm_params, got ${describe(entry)}`, path);
  }
  const name = entry.guardrail_name;
  if (typeof name !== 'string' || name === '') {
    return bad(`guardrails[${i}] needs a guardrail_name (a non-empty string), got ${describe(name)}`, [...path, 'guardrail_name']);
  }
  const params = entry.litellm_params;
  if (!isMapping(params)) {
    return bad(`guardrail '${name}' needs litellm_params, a mapping with guardrail: <kind>, got ${describe(params)}`, [...path, 'litellm_params']);
  }
  const kind = params.guardrail;
  if (typeof kind !== 'string' || kind === '') {
    const message = `guardrail '${name}' needs litellm_params.guardrail (its kind, e.g. presidio), got ${describe(kind)}`;
    return bad(message, [...path, 'litellm_params', 'guardrail']);
  }
  const mode = params.mode;
  // A mapping is LiteLLM's tag-based Mode object: kept in params, not a plain mode.
  if (!(mode === undefined || mode === null || typeof mode === 'string' || isMapping(mode) || isStringList(mode))) {
    const message = `guardrail '${name}': litellm_params.mode must be a string or a list of strings, got ${describe(mode)}`;
    return bad(message, [...path, 'litellm_params', 'mode']);
  }
  return Object.freeze({
    name,
    kind,
    mode: typeof mode === 'string' ? mode : isStringList(mode) ? Object.freeze([...mode]) : undefined,
    params: Object.freeze({ ...params }),
  });
}

function parsePolicies(ctx: Context, raw: unknown): readonly PolicySpec[] {
  if (raw === null || raw === undefined) return Object.freeze([]);
  if (!isMapping(raw)) {
    ctx.error('invalid_bundle', `policies must be a mapping of policy name to policy, got ${describe(raw)}`, ['policies']);
    return Object.freeze([]);
  }
  const nonString = new Map((sourceKeysAt(ctx.bundle, ['policies']) ?? []).filter((k) => !k.isString).map((k) => [k.name, k.source]));
  const out: PolicySpec[] = [];
  for (const name of ctx.orderedKeys(raw, ['policies'])) {
    const source = nonString.get(name);
    if (source !== undefined) {
      const message = `policy name ${source || '(empty)'} is not a string: YAML 1.1 (PyYAML, as LiteLLM) reads it as ${readAs(name)}, so no attachment or inherit can name it; quote it: "${source}"`;
      ctx.error('invalid_bundle', message, ['policies', name], true);
      continue;
    }
    const spec = parsePolicy(ctx, name, raw[name]);
    if (spec) out.push(spec);
  }
  return Object.freeze(out);
}

/** LiteLLM's `_parse_policy`; undefined (after reporting) when it would raise. */
function parsePolicy(ctx: Context, name: string, raw: unknown): PolicySpec | undefined {
  const base = ['policies', name];
  let failed = false;
  const bad = (cause: string, path: DocPath, atKey = false): void => {
    ctx.error('invalid_syntax', `Invalid policy '${name}': ${cause}`, path, atKey);
    failed = true;
  };
  if (!isMapping(raw)) {
    bad(`a policy must be a mapping, got ${describe(raw)}`, base);
    return undefined;
  }
  ctx.unknownKeys(raw, base, POLICY_KEYS, `policy '${name}'`, policyKeyHint);
  const strList = (value: unknown, path: DocPath, label: string): readonly string[] => {
    if (value === null || value === undefined) return Object.freeze([]);
    if (!Array.isArray(value)) {
      bad(`${label} must be a list of strings, got ${describe(value)}`, path);
      return [];
    }
    value.forEach((v: unknown, i) => {
      if (typeof v !== 'string') bad(`${label}[${i}] must be a string, got ${describe(v)}`, [...path, i]);
    });
    return Object.freeze(value.filter((v): v is string => typeof v === 'string'));
  };

  let add: readonly string[] = [];
  let remove: readonly string[] = [];
  const guardrails = raw.guardrails;
  if (isMapping(guardrails)) {
    ctx.unknownKeys(guardrails, [...base, 'guardrails'], ['add', 'remove'], `the guardrails of policy '${name}'`);
    add = strList(guardrails.add, [...base, 'guardrails', 'add'], 'guardrails.add');
    remove = strList(guardrails.remove, [...base, 'guardrails', 'remove'], 'guardrails.remove');
  } else if (isTruthy(guardrails)) {
    // The legacy list form: `guardrails: [a, b]` is `add: [a, b]`.
    if (Array.isArray(guardrails)) add = strList(guardrails, [...base, 'guardrails'], 'guardrails');
    else bad(`add must be a list: guardrails is ${describe(guardrails)}; write guardrails: [name] or guardrails: {add: [name]}`, [...base, 'guardrails']);
  }

  const condition = parseCondition(ctx, name, raw.condition, bad);
  const pipeline = raw.pipeline === null || raw.pipeline === undefined ? undefined : parsePipeline(ctx, name, raw.pipeline, bad);

  const optionalString = (key: 'inherit' | 'description'): string | undefined => {
    const v = raw[key];
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'string') bad(`${key} must be a string, got ${describe(v)}`, [...base, key]);
    return typeof v === 'string' ? v : undefined;
  };
  const inherit = optionalString('inherit');
  const description = optionalString('description');
  if (failed) return undefined;
  // LiteLLM tests `if policy.inherit:`, so an empty parent is no parent.
  return Object.freeze({ name, inherit: inherit || undefined, description, add, remove, condition, pipeline });
}

type Bad = (cause: string, path: DocPath, atKey?: boolean) => void;

function parseCondition(ctx: Context, name: string, raw: unknown, bad: Bad): ConditionSpec | undefined {
  const path = ['policies', name, 'condition'];
  // Only a truthy condition builds one: `condition: {}` is no condition.
  if (!isTruthy(raw)) return undefined;
  if (!isMapping(raw)) {
    bad(`condition must be a mapping such as {model: ...}, got ${describe(raw)} (LiteLLM fails with AttributeError: '${pyType(raw)}' object has no attribute 'get')`, path);
    return undefined;
  }
  ctx.unknownKeys(raw, path, ['model'], `the condition of policy '${name}'`, conditionKeyHint);
  const model = raw.model;
  if (model === null || model === undefined) return Object.freeze({ model: null });
  if (typeof model === 'string') return Object.freeze({ model });
  if (isStringList(model)) return Object.freeze({ model: Object.freeze([...model]) });
  if (Array.isArray(model)) {
    model.forEach((m: unknown, i) => {
      if (typeof m !== 'string') bad(`condition.model[${i}] must be a string, got ${describe(m)}`, [...path, 'model', i]);
    });
  } else {
    bad(`condition.model must be a string, a list of strings or null, got ${describe(model)}`, [...path, 'model']);
  }
  return undefined;
}

function parsePipeline(ctx: Context, name: string, raw: unknown, bad: Bad): PipelineSpec | undefined {
  const path = ['policies', name, 'pipeline'];
  if (!isMapping(raw)) {
    bad(`pipeline must be a mapping with mode and steps, got ${describe(raw)}`, path);
    return undefined;
  }
  ctx.unknownKeys(raw, path, ['mode', 'steps'], `the pipeline of policy '${name}'`);
  let ok = true;
  const fail: Bad = (cause, at, atKey) => {
    bad(cause, at, atKey);
    ok = false;
  };
  // The config parser fills in pre_call; an explicit null is still not a string.
  const mode = Object.hasOwn(raw, 'mode') ? raw.mode : 'pre_call';
  if (typeof mode !== 'string') fail(`pipeline.mode must be a string, got ${describe(mode)}`, [...path, 'mode']);
  else if (!(MODES as readonly string[]).includes(mode)) fail(`pipeline.mode: Invalid mode '${mode}'. Must be one of: ${MODE_LIST}`, [...path, 'mode']);
  const steps = raw.steps;
  if (!Array.isArray(steps)) {
    fail(`pipeline.steps must be a list of at least 1 step, got ${describe(steps)}`, [...path, 'steps']);
    return undefined;
  }
  if (steps.length === 0) fail('pipeline.steps must have at least 1 step', [...path, 'steps']);
  const parsed = steps.map((s: unknown, i) => parseStep(s, i, [...path, 'steps', i], fail));
  if (!ok) return undefined;
  return Object.freeze({ mode: mode as PipelineMode, steps: Object.freeze(parsed as PipelineStepSpec[]) });
}

function parseStep(raw: unknown, i: number, path: DocPath, bad: Bad): PipelineStepSpec | undefined {
  const label = `pipeline.steps[${i}]`;
  if (!isMapping(raw)) {
    bad(`${label} must be a mapping with a guardrail, got ${describe(raw)}`, path);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (STEP_KEYS.includes(key)) continue;
    bad(`${label}: unknown key '${key}' (Extra inputs are not permitted)${didYouMean(key, STEP_KEYS)}`, [...path, key], true);
  }
  const action = (key: 'on_fail' | 'on_pass' | 'on_error', fallback: Action | undefined): Action | undefined => {
    if (!Object.hasOwn(raw, key) || (key === 'on_error' && raw[key] === null)) return fallback;
    const v = raw[key];
    if (typeof v === 'string' && (ACTIONS as readonly string[]).includes(v)) return v as Action;
    if (typeof v !== 'string') bad(`${label}.${key} must be a string, got ${describe(v)}`, [...path, key]);
    else bad(`${label}.${key}: Invalid action '${v}'. Must be one of: ${ACTION_LIST}`, [...path, key]);
    return undefined;
  };
  const guardrail = raw.guardrail;
  if (guardrail === undefined) bad(`${label}.guardrail is required`, path);
  else if (typeof guardrail !== 'string') bad(`${label}.guardrail must be a string, got ${describe(guardrail)}`, [...path, 'guardrail']);
  const onFail = action('on_fail', 'block');
  const onPass = action('on_pass', 'allow');
  const onError = action('on_error', undefined);
  const passData = Object.hasOwn(raw, 'pass_data') ? pydanticBool(raw.pass_data) : false;
  if (passData === undefined) bad(`${label}.pass_data must be a boolean, got ${describe(raw.pass_data)}`, [...path, 'pass_data']);
  const message = raw.modify_response_message;
  if (message !== undefined && message !== null && typeof message !== 'string') {
    bad(`${label}.modify_response_message must be a string, got ${describe(message)}`, [...path, 'modify_response_message']);
  }
  const timeout = raw.timeout_ms;
  const isTimeoutOk = timeout === undefined || timeout === null || (Number.isSafeInteger(timeout) && (timeout as number) > 0);
  if (!isTimeoutOk) bad(`${label}.timeout_ms must be a positive integer (milliseconds), got ${describe(timeout)}`, [...path, 'timeout_ms']);
  if (typeof guardrail !== 'string' || !onFail || !onPass || passData === undefined) return undefined;
  return Object.freeze({
    guardrail,
    onPass,
    onFail,
    onError,
    passData,
    modifyResponseMessage: typeof message === 'string' ? message : undefined,
    timeoutMs: typeof timeout === 'number' ? timeout : undefined,
  });
}

function parseAttachments(ctx: Context, raw: unknown): readonly AttachmentSpec[] {
  if (raw === null || raw === undefined) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    ctx.error('invalid_bundle', `policy_attachments must be a list of attachments, got ${describe(raw)}`, ['policy_attachments']);
    return Object.freeze([]);
  }
  const out: AttachmentSpec[] = [];
  raw.forEach((entry: unknown, index) => {
    const path = ['policy_attachments', index];
    let failed = false;
    const bad = (cause: string, at: DocPath): void => {
      ctx.error('invalid_attachment', `Invalid attachment: ${cause}`, at);
      failed = true;
    };
    if (!isMapping(entry)) return bad(`policy_attachments[${index}] must be a mapping, got ${describe(entry)}`, path);
    ctx.unknownKeys(entry, path, ATTACHMENT_KEYS, `policy_attachments[${index}]`, attachmentKeyHint);
    const policy = Object.hasOwn(entry, 'policy') ? entry.policy : '';
    if (typeof policy !== 'string') bad(`policy must be a string, got ${describe(policy)}`, [...path, 'policy']);
    const scope = entry.scope;
    if (scope !== undefined && scope !== null && typeof scope !== 'string') bad(`scope must be a string, got ${describe(scope)}`, [...path, 'scope']);
    const lists = LIST_FIELDS.map((field) => {
      const v = entry[field];
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v)) {
        bad(`${field} must be a list of strings, got ${describe(v)}`, [...path, field]);
        return undefined;
      }
      v.forEach((s: unknown, i) => {
        if (typeof s !== 'string') bad(`${field}[${i}] must be a string, got ${describe(s)}`, [...path, field, i]);
      });
      // Empty means unset (§3, §12).
      return v.length > 0 ? Object.freeze([...(v as string[])]) : undefined;
    });
    const isGlobal = scope === '*';
    if (typeof scope === 'string' && !isGlobal) {
      ctx.warn('invalid_attachment', `scope '${scope}' is ignored: only '*' makes an attachment global`, [...path, 'scope']);
    }
    if (isGlobal) {
      LIST_FIELDS.forEach((field, i) => {
        if (lists[i]) ctx.warn('invalid_attachment', `${field} is ignored: scope '*' makes the attachment global`, [...path, field], true);
      });
    }
    if (failed) return;
    const [teams, keys, models, tags] = lists;
    out.push(Object.freeze({ index, policy: policy as string, isGlobal, teams, keys, models, tags }));
  });
  return Object.freeze(out);
}

function policyKeyHint(key: string): string | undefined {
  if (key === 'add' || key === 'remove') return `; did you mean 'guardrails.${key}'? (${key} goes under guardrails:)`;
  return Object.hasOwn(POLICY_KEY_ALIASES, key) ? `; did you mean '${POLICY_KEY_ALIASES[key]}'?` : undefined;
}

function conditionKeyHint(key: string): string | undefined {
  if (/^(?:team|key|tag)s?$/.test(key)) return `: conditions only support model; scope by ${key} with policy_attachments`;
  return undefined;
}

function attachmentKeyHint(key: string): string | undefined {
  if (key === 'priority' || key === 'default') return `: ${key} is a later LiteLLM feature, not supported by this LiteLLM version`;
  if (key === 'policy_name' || key === 'policies') return `; did you mean 'policy'?`;
  return undefined;
}

/** `; did you mean 'x'?` for a near miss of a known key, else ''. */
function didYouMean(key: string, known: readonly string[]): string {
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

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Python truthiness of a YAML value. */
function isTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return Object.keys(v).length > 0;
  return true;
}

/** pydantic v2's lax bool: true/false, 0/1, and the usual strings; undefined when it would fail. */
function pydanticBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v !== 'string') return undefined;
  const s = v.toLowerCase();
  if (['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return true;
  if (['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return false;
  return undefined;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `a string ('${v.length > 40 ? `${v.slice(0, 37)}...` : v}')`;
  if (typeof v === 'number' || typeof v === 'boolean') return `a ${typeof v} (${String(v)})`;
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  return isMapping(v) ? 'a mapping' : 'a value of another type';
}

function pyType(v: unknown): string {
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'list';
  return v instanceof Date ? 'datetime.date' : 'object';
}

function readAs(name: string): string {
  if (name === 'true' || name === 'false') return `the boolean ${name === 'true' ? 'True' : 'False'}`;
  if (name === '') return 'null';
  return /^[-+.]?\d/.test(name) ? 'a number' : 'a non-string value';
}

function joinAnd(items: readonly number[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
