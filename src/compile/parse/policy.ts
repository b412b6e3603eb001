import { describeValue } from '../../model/describe.js';
import type { DocPath } from '../../model/bundle.js';
import type { ConditionSpec, PolicySpec } from '../../model/policy.js';
import { isMapping, isStringList, isTruthy, type Bad, type ParseContext } from './context.js';
import { parsePipeline } from './pipeline.js';

const POLICY_KEYS = ['inherit', 'description', 'guardrails', 'condition', 'pipeline'];
const POLICY_KEY_ALIASES: Readonly<Record<string, string>> = {
  guardrail: 'guardrails',
  inherits: 'inherit',
  extends: 'inherit',
  parent: 'inherit',
  conditions: 'condition',
};

/**
 * LiteLLM's `_parse_policy` for the policy `name`: guardrails (add/remove or the legacy list),
 * condition, inherit, description and pipeline. Undefined (after reporting `invalid_syntax`)
 * when it would raise; keys it ignores are `unknown_key` warnings. Frozen.
 */
export function parsePolicy(ctx: ParseContext, name: string, raw: unknown, base: DocPath = ['policies', name]): PolicySpec | undefined {
  let failed = false;
  const bad = (cause: string, path: DocPath, atKey = false): void => {
    ctx.error('invalid_syntax', `Invalid policy '${name}': ${cause}`, path, atKey);
    failed = true;
  };
  if (!isMapping(raw)) {
    bad(`a policy must be a mapping, got ${describeValue(raw)}`, base);
    return undefined;
  }
  ctx.unknownKeys(raw, base, POLICY_KEYS, `policy '${name}'`, policyKeyHint);
  const strList = (value: unknown, path: DocPath, label: string): readonly string[] => {
    if (value === null || value === undefined) return NONE;
    if (!Array.isArray(value)) {
      bad(`${label} must be a list of strings, got ${describeValue(value)}`, path);
      return NONE;
    }
    value.forEach((v: unknown, i) => {
      if (typeof v !== 'string') bad(`${label}[${i}] must be a string, got ${describeValue(v)}`, [...path, i]);
    });
    return frozenList(value.filter((v): v is string => typeof v === 'string'), ctx);
  };

  let add: readonly string[] = NONE;
  let remove: readonly string[] = NONE;
  const guardrails = raw.guardrails;
  if (isMapping(guardrails)) {
    ctx.unknownKeys(guardrails, [...base, 'guardrails'], ['add', 'remove'], `the guardrails of policy '${name}'`);
    add = strList(guardrails.add, [...base, 'guardrails', 'add'], 'guardrails.add');
    remove = strList(guardrails.remove, [...base, 'guardrails', 'remove'], 'guardrails.remove');
  } else if (isTruthy(guardrails)) {
    // The legacy list form: `guardrails: [a, b]` is `add: [a, b]`.
    if (Array.isArray(guardrails)) add = strList(guardrails, [...base, 'guardrails'], 'guardrails');
    else bad(`add must be a list: guardrails is ${describeValue(guardrails)}; write guardrails: [name] or guardrails: {add: [name]}`, [...base, 'guardrails']);
  }

  const condition = parseCondition(ctx, name, raw.condition, bad);
  const pipeline = raw.pipeline === null || raw.pipeline === undefined ? undefined : parsePipeline(ctx, name, raw.pipeline, bad);

  const optionalString = (key: 'inherit' | 'description'): string | undefined => {
    const v = raw[key];
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'string') bad(`${key} must be a string, got ${describeValue(v)}`, [...base, key]);
    return typeof v === 'string' ? v : undefined;
  };
  const inherit = optionalString('inherit');
  const description = optionalString('description');
  if (failed) return undefined;
  // LiteLLM tests `if policy.inherit:`, so an empty parent is no parent.
  return Object.freeze({ name: ctx.intern(name), inherit: inherit ? ctx.intern(inherit) : undefined, description, add, remove, condition, pipeline });
}

function parseCondition(ctx: ParseContext, name: string, raw: unknown, bad: Bad): ConditionSpec | undefined {
  const path = ['policies', name, 'condition'];
  // Only a truthy condition builds one: `condition: {}` is no condition.
  if (!isTruthy(raw)) return undefined;
  if (!isMapping(raw)) {
    bad(`condition must be a mapping such as {model: ...}, got ${describeValue(raw)} (LiteLLM fails with AttributeError: '${pyType(raw)}' object has no attribute 'get')`, path);
    return undefined;
  }
  ctx.unknownKeys(raw, path, ['model'], `the condition of policy '${name}'`, conditionKeyHint);
  const model = raw.model;
  if (model === null || model === undefined) return Object.freeze({ model: null });
  if (typeof model === 'string') return Object.freeze({ model });
  if (isStringList(model)) return Object.freeze({ model: frozenList(model, ctx) });
  if (Array.isArray(model)) {
    model.forEach((m: unknown, i) => {
      if (typeof m !== 'string') bad(`condition.model[${i}] must be a string, got ${describeValue(m)}`, [...path, 'model', i]);
    });
  } else {
    bad(`condition.model must be a string, a list of strings or null, got ${describeValue(model)}`, [...path, 'model']);
  }
  return undefined;
}

// Every policy keeps its lists for as long as its snapshot serves, ten thousand of them in a large
// bundle: one shared empty list, and the others at their length (a filtered array keeps spare room).
const NONE: readonly string[] = Object.freeze([]);

function frozenList(list: readonly string[], ctx: ParseContext): readonly string[] {
  return list.length === 0 ? NONE : Object.freeze(list.map((s) => ctx.intern(s)));
}

function policyKeyHint(key: string): string | undefined {
  if (key === 'add' || key === 'remove') return `; did you mean 'guardrails.${key}'? (${key} goes under guardrails:)`;
  return Object.hasOwn(POLICY_KEY_ALIASES, key) ? `; did you mean '${POLICY_KEY_ALIASES[key]}'?` : undefined;
}

function conditionKeyHint(key: string): string | undefined {
  if (/^(?:team|key|tag)s?$/.test(key)) return `: conditions only support model; scope by ${key} with policy_attachments`;
  return undefined;
}

// The Python type name LiteLLM's AttributeError would show.
function pyType(v: unknown): string {
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'list';
  return v instanceof Date ? 'datetime.date' : 'object';
}
