import { describeValue } from '../../model/describe.js';
import type { Bundle } from '../../model/bundle.js';
import { compareIssues, type Issue } from '../../model/issue.js';
import type { AttachmentSpec, GuardrailSpec, PolicySpec, PolicyVersionSpec } from '../../model/policy.js';
import { formatPath } from '../issues.js';
import { parseAttachment } from './attachment.js';
import { didYouMean, isMapping, ParseContext, type Mapping } from './context.js';
import { parseGuardrail } from './guardrail.js';
import { parsePolicy } from './policy.js';
import { parseVersions } from './versions.js';
import type { Steps } from '../../steps.js';

/** The three sections LiteLLM reads, parsed field by field (docs/semantics.md §1, §3, §8). Frozen. */
export interface ParsedBundle {
  readonly guardrails: readonly GuardrailSpec[];
  /** Document order. Policies that fail LiteLLM's parser are left out (and reported). */
  readonly policies: readonly PolicySpec[];
  readonly attachments: readonly AttachmentSpec[];
  /** Draft and published versions (db sources only); broken ones are left out with a warning. */
  readonly versions: readonly PolicyVersionSpec[];
  /** Names under `policies:` that failed to parse (already reported): they still count as defined, as parents and in attachments. */
  readonly brokenPolicyNames: ReadonlySet<string>;
  /** Every guardrail_name the bundle defines, including entries that failed to parse (already reported). */
  readonly guardrailNames: ReadonlySet<string>;
  /** Policies written with LiteLLM's legacy `guardrails: [..]` list, so their add[i] is at `guardrails[i]`. */
  readonly legacyListPolicies: ReadonlySet<string>;
  /** `guardrail_pdp: {allow_shrink: true}` as the last section: this bundle may replace a much larger one. */
  readonly allowsShrink: boolean;
}

/** What parsing found: the parsed sections and every issue, sorted. */
export interface ParseResult {
  readonly parsed: ParsedBundle;
  readonly issues: Issue[];
}

/**
 * Parses a bundle exactly as LiteLLM's config parser and loaders would, reporting every problem
 * at once: parser failures as errors (`invalid_syntax`, `invalid_attachment`, `invalid_bundle`,
 * `duplicate_guardrail`), keys LiteLLM silently ignores as `unknown_key` warnings. Issues are
 * sorted. Steps: one per policy and attachment.
 */
export function* parseBundle(bundle: Bundle): Steps<ParseResult> {
  const ctx = new ParseContext(bundle);
  const data = bundle.data;
  let parsed: ParsedBundle = EMPTY;
  if (isMapping(data)) {
    reportDuplicateKeys(ctx);
    warnNearMissSections(ctx, data);
    checkHasSections(ctx, data);
    const guardrails = parseGuardrails(ctx, data.guardrails);
    yield;
    const policies = yield* parsePolicies(ctx, data.policies);
    const attachments = yield* parseAttachments(ctx, data.policy_attachments);
    parsed = Object.freeze({
      guardrails: guardrails.specs,
      policies: policies.specs,
      attachments,
      versions: parseVersions(ctx, data.policy_versions),
      brokenPolicyNames: policies.broken,
      guardrailNames: guardrails.names,
      legacyListPolicies: policies.legacyList,
      allowsShrink: parseSidecarSection(ctx, data),
    });
  } else if (data === null || data === undefined) {
    ctx.error('invalid_bundle', `the bundle is empty (no YAML or JSON document), as a file caught while being written can be; ${SERVE_NONE}`, []);
  } else {
    ctx.error('invalid_bundle', `the bundle must be a mapping (guardrails:, policies:, policy_attachments:), got ${describeValue(data)}`, []);
  }
  return { parsed, issues: ctx.issues.sort(compareIssues) };
}

const NO_NAMES: ReadonlySet<string> = new Set();
const EMPTY: ParsedBundle = Object.freeze({
  guardrails: Object.freeze([]),
  policies: Object.freeze([]),
  attachments: Object.freeze([]),
  versions: Object.freeze([]),
  brokenPolicyNames: NO_NAMES,
  guardrailNames: NO_NAMES,
  legacyListPolicies: NO_NAMES,
  allowsShrink: false,
});
const SECTIONS = ['guardrails', 'policies', 'policy_attachments', 'policy_versions'];
/** The sidecar's own section: settings that travel with the bundle. LiteLLM ignores it. */
const SIDECAR_SECTION = 'guardrail_pdp';

const SERVE_NONE = 'to serve no policies on purpose, write `policies: {}`';

/**
 * A bundle must have at least one of the sections the policy engine reads, not null: a file with
 * none is refused rather than served as "no policies", because that is also what a file caught
 * half-written, or the wrong file, looks like. Serving no policies on purpose takes an explicit
 * `policies: {}`. (A config with only `guardrails:` is fine: `guardrail-pdp compile` turns one into
 * a db whose policies come from LiteLLM's tables.)
 */
function checkHasSections(ctx: ParseContext, data: Mapping): void {
  if (SECTIONS.some((s) => Object.hasOwn(data, s) && data[s] !== null && data[s] !== undefined)) return;
  const message = `the bundle has none of the sections ${SECTIONS.map((s) => `'${s}:'`).join(', ')} (or only empty ones): a file cut short, or not a policy bundle; ${SERVE_NONE}`;
  ctx.error('invalid_bundle', message, []);
}

/** PyYAML silently keeps the last of duplicate keys: report those in the sections we read. */
function reportDuplicateKeys(ctx: ParseContext): void {
  for (const { path, positions } of ctx.bundle.duplicateKeys) {
    if (!SECTIONS.includes(String(path[0]))) continue;
    const lines = positions.map((p) => p.line);
    const times = lines.length === 2 ? 'twice' : `${lines.length} times`;
    const parent = path.slice(0, -1);
    const name = String(path[path.length - 1]);
    const what =
      parent.length === 1 && parent[0] === 'policies'
        ? `policy '${name}' is defined ${times}`
        : `key '${name}' is given ${times} in ${formatPath(parent) || 'the top level'}`;
    ctx.error('invalid_bundle', `${what} (lines ${joinAnd(lines)}); LiteLLM would silently keep the last`, path, true);
  }
}

/** Other top-level keys are LiteLLM's (model_list, ...): only near misses of ours are worth a word. */
function warnNearMissSections(ctx: ParseContext, data: Mapping): void {
  for (const key of Object.keys(data)) {
    if (SECTIONS.includes(key) || key === SIDECAR_SECTION) continue;
    const advice = key === 'attachments' ? "; did you mean 'policy_attachments'?" : didYouMean(key, [...SECTIONS, SIDECAR_SECTION]);
    if (advice) ctx.warn('unknown_key', `top-level key '${key}' is not read by the policy engine${advice}`, [key], true);
  }
}

/**
 * `guardrail_pdp:`, the sidecar's settings in the bundle: `allow_shrink: true` lets this bundle
 * replace a serving one more than twice its size (see the Activator), once. It counts only in the
 * last section of the file: a file caught half-written is a prefix of the whole, so a marker at the
 * end is there only once everything before it is.
 */
function parseSidecarSection(ctx: ParseContext, data: Mapping): boolean {
  if (!Object.hasOwn(data, SIDECAR_SECTION)) return false;
  const raw = data[SIDECAR_SECTION];
  const at = [SIDECAR_SECTION];
  if (!isMapping(raw)) {
    ctx.error('invalid_bundle', `${SIDECAR_SECTION} must be a mapping of the sidecar's settings (allow_shrink), got ${describeValue(raw)}`, at);
    return false;
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'allow_shrink') ctx.warn('unknown_key', `unknown key '${key}' in ${SIDECAR_SECTION} is ignored${didYouMean(key, ['allow_shrink'])}`, [...at, key], true);
  }
  const allow = raw.allow_shrink;
  if (allow === undefined || allow === null || allow === false) return false;
  if (allow !== true) {
    ctx.error('invalid_bundle', `${SIDECAR_SECTION}.allow_shrink must be true or false, got ${describeValue(allow)}`, [...at, 'allow_shrink']);
    return false;
  }
  const keys = ctx.bundle.keysAt([]);
  const last = keys?.[keys.length - 1]?.name;
  if (keys !== undefined && last !== SIDECAR_SECTION) {
    const message = `${SIDECAR_SECTION}.allow_shrink counts only when ${SIDECAR_SECTION}: is the last section of the bundle (here '${last}' follows it): a file caught half-written is a prefix of the whole, so only a marker at the end shows the whole file is there; move it to the end`;
    ctx.error('invalid_bundle', message, [...at, 'allow_shrink'], true);
    return false;
  }
  return true;
}

function parseGuardrails(ctx: ParseContext, raw: unknown): { specs: readonly GuardrailSpec[]; names: ReadonlySet<string> } {
  if (raw === null || raw === undefined) return { specs: Object.freeze([]), names: NO_NAMES };
  if (!Array.isArray(raw)) {
    ctx.error('invalid_bundle', `guardrails must be a list of guardrail definitions, got ${describeValue(raw)}`, ['guardrails']);
    return { specs: Object.freeze([]), names: NO_NAMES };
  }
  const out: GuardrailSpec[] = [];
  const names = new Set<string>();
  const first = new Map<string, number>();
  raw.forEach((entry: unknown, i) => {
    const name = isMapping(entry) ? entry.guardrail_name : undefined;
    if (typeof name === 'string' && name !== '') names.add(name);
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
  return { specs: Object.freeze(out), names };
}

interface ParsedPolicies {
  readonly specs: readonly PolicySpec[];
  readonly broken: ReadonlySet<string>;
  readonly legacyList: ReadonlySet<string>;
}

function* parsePolicies(ctx: ParseContext, raw: unknown): Steps<ParsedPolicies> {
  if (raw === null || raw === undefined) return { specs: Object.freeze([]), broken: NO_NAMES, legacyList: NO_NAMES };
  if (!isMapping(raw)) {
    ctx.error('invalid_bundle', `policies must be a mapping of policy name to policy, got ${describeValue(raw)}`, ['policies']);
    return { specs: Object.freeze([]), broken: NO_NAMES, legacyList: NO_NAMES };
  }
  const nonString = new Map((ctx.bundle.keysAt(['policies']) ?? []).filter((k) => !k.isString).map((k) => [k.name, k.source]));
  yield;
  const out: PolicySpec[] = [];
  const broken = new Set<string>();
  const legacyList = new Set<string>();
  for (const name of ctx.orderedKeys(raw, ['policies'])) {
    const source = nonString.get(name);
    if (source !== undefined) {
      const message = `policy name ${source || '(empty)'} is not a string: YAML 1.1 (PyYAML, as LiteLLM) reads it as ${readAs(name)}, so no attachment or inherit can name it; quote it: "${source}"`;
      ctx.error('invalid_bundle', message, ['policies', name], true);
      broken.add(name);
      continue;
    }
    const policy = raw[name];
    const spec = parsePolicy(ctx, name, policy);
    if (spec === undefined) broken.add(name);
    else {
      out.push(spec);
      if (isMapping(policy) && Array.isArray(policy.guardrails)) legacyList.add(name);
    }
    yield;
  }
  return { specs: Object.freeze(out), broken, legacyList };
}

function* parseAttachments(ctx: ParseContext, raw: unknown): Steps<readonly AttachmentSpec[]> {
  if (raw === null || raw === undefined) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    ctx.error('invalid_bundle', `policy_attachments must be a list of attachments, got ${describeValue(raw)}`, ['policy_attachments']);
    return Object.freeze([]);
  }
  const out: AttachmentSpec[] = [];
  for (let index = 0; index < raw.length; index++) {
    if (!(index in raw)) continue; // a hole, skipped as forEach does
    const spec = parseAttachment(ctx, raw[index] as unknown, index);
    if (spec) out.push(spec);
    yield;
  }
  return Object.freeze(out);
}

function readAs(name: string): string {
  if (name === 'true' || name === 'false') return `the boolean ${name === 'true' ? 'True' : 'False'}`;
  if (name === '') return 'null';
  return /^[-+.]?\d/.test(name) ? 'a number' : 'a non-string value';
}

function joinAnd(items: readonly number[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
