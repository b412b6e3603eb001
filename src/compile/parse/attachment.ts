import { describeValue } from '../../model/describe.js';
import type { DocPath } from '../../model/bundle.js';
import type { AttachmentSpec } from '../../model/policy.js';
import { isMapping, type ParseContext } from './context.js';

const ATTACHMENT_KEYS = ['policy', 'scope', 'teams', 'keys', 'models', 'tags'];
const LIST_FIELDS = ['teams', 'keys', 'models', 'tags'] as const;

/**
 * One entry of `policy_attachments:`, as LiteLLM's attachment loader reads it. Undefined (after
 * reporting `invalid_attachment`) when LiteLLM would reject it; ignored fields are warnings. Frozen.
 */
export function parseAttachment(ctx: ParseContext, entry: unknown, index: number): AttachmentSpec | undefined {
  const path = ['policy_attachments', index];
  let failed = false;
  const bad = (cause: string, at: DocPath): void => {
    ctx.error('invalid_attachment', `Invalid attachment: ${cause}`, at);
    failed = true;
  };
  if (!isMapping(entry)) {
    bad(`policy_attachments[${index}] must be a mapping, got ${describeValue(entry)}`, path);
    return undefined;
  }
  ctx.unknownKeys(entry, path, ATTACHMENT_KEYS, `policy_attachments[${index}]`, attachmentKeyHint);
  const policy = Object.hasOwn(entry, 'policy') ? entry.policy : '';
  if (typeof policy !== 'string') bad(`policy must be a string, got ${describeValue(policy)}`, [...path, 'policy']);
  const scope = entry.scope;
  if (scope !== undefined && scope !== null && typeof scope !== 'string') bad(`scope must be a string, got ${describeValue(scope)}`, [...path, 'scope']);
  const lists = LIST_FIELDS.map((field) => {
    const v = entry[field];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      bad(`${field} must be a list of strings, got ${describeValue(v)}`, [...path, field]);
      return undefined;
    }
    v.forEach((s: unknown, i) => {
      if (typeof s !== 'string') bad(`${field}[${i}] must be a string, got ${describeValue(s)}`, [...path, field, i]);
    });
    // Empty means unset (§3, §12).
    return v.length > 0 ? Object.freeze((v as string[]).map((s) => ctx.intern(s))) : undefined;
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
  if (failed) return undefined;
  const [teams, keys, models, tags] = lists;
  return Object.freeze({ index, policy: ctx.intern(policy as string), isGlobal, teams, keys, models, tags });
}

function attachmentKeyHint(key: string): string | undefined {
  if (key === 'priority' || key === 'default') return `: ${key} is a later LiteLLM feature, not supported by this LiteLLM version`;
  if (key === 'policy_name' || key === 'policies') return `; did you mean 'policy'?`;
  return undefined;
}
