import { describeValue } from '../../model/describe.js';
import type { PolicyVersionSpec } from '../../model/policy.js';
import { isMapping, ParseContext } from './context.js';
import { parsePolicy } from './policy.js';

const VERSION_KEYS = ['policy_id', 'policy_name', 'version_number', 'version_status'];

/**
 * The `policy_versions` section a db source emits for draft and published rows (§9): each is a
 * policy (parsed exactly like one) plus its id, name, number and status. A broken version is a
 * warning and is left out: a draft in progress must never block the live policies from loading.
 */
export function parseVersions(ctx: ParseContext, raw: unknown): readonly PolicyVersionSpec[] {
  if (raw === null || raw === undefined) return Object.freeze([]);
  if (!Array.isArray(raw)) {
    ctx.error('invalid_bundle', `policy_versions must be a list, got ${describeValue(raw)}`, ['policy_versions']);
    return Object.freeze([]);
  }
  const out: PolicyVersionSpec[] = [];
  const seen = new Set<string>();
  raw.forEach((entry: unknown, i) => {
    const path = ['policy_versions', i];
    const skip = (why: string): void => ctx.warn('invalid_syntax', `policy version policy_versions[${i}] is ignored: ${why}`, path);
    if (!isMapping(entry)) return skip(`expected a mapping, got ${describeValue(entry)}`);
    const { policy_id: id, policy_name: name, version_number: number, version_status: status } = entry;
    if (typeof id !== 'string' || id === '') return skip('policy_id must be a non-empty string');
    if (typeof name !== 'string' || name === '') return skip(`policy_name of version ${id} must be a non-empty string`);
    if (status !== 'draft' && status !== 'published') return skip(`version ${id} has status ${typeof status === 'string' ? `'${status}'` : describeValue(status)}; only draft and published versions are kept here`);
    if (typeof number !== 'number' || !Number.isInteger(number)) return skip(`version ${id} has no integer version_number`);
    if (seen.has(id)) return skip(`policy_id ${id} appears twice`);
    // Parse the policy fields in a context of their own: their errors become warnings.
    const own = new ParseContext(ctx.bundle);
    const body = Object.fromEntries(Object.entries(entry).filter(([k]) => !VERSION_KEYS.includes(k)));
    const spec = parsePolicy(own, name, body, path);
    for (const issue of own.issues) ctx.issues.push(issue.severity === 'error' ? { ...issue, severity: 'warning', message: `${status} version ${id} of '${name}' is ignored: ${issue.message}` } : issue);
    if (spec === undefined) return;
    seen.add(id);
    out.push(Object.freeze({ id, status, versionNumber: number, spec }));
  });
  return Object.freeze(out);
}
