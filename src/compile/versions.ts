import type { PolicySpec, PolicyVersionSpec } from '../model/policy.js';
import type { CompiledPolicy } from '../model/snapshot.js';
import { compileCondition, type CompiledCondition } from './condition.js';
import { compilePolicies } from './policies.js';
import type { PatternTimeoutListener } from '../regex/safety/bounded.js';
import { finish } from '../steps.js';

/** How many distinct version combinations keep their compiled overlay. */
const OVERLAY_LIMIT = 64;

/**
 * Builds `Snapshot.withVersions`: the policy table with some draft/published versions swapped in
 * by name. Only the overridden policies and those whose chain passes through one are recompiled;
 * everything else is shared with the live table. Results are memoized per id list (bounded). With
 * no versions, the overlay holds only `live` (not the specs and conditions).
 */
export function createVersionOverlay(
  live: ReadonlyMap<string, CompiledPolicy>,
  specs: ReadonlyMap<string, PolicySpec>,
  conditions: ReadonlyMap<string, CompiledCondition>,
  versions: ReadonlyMap<string, PolicyVersionSpec>,
  onPatternTimeout?: PatternTimeoutListener,
): (versionIds: readonly string[]) => ReadonlyMap<string, CompiledPolicy> {
  // Without versions (every bundle file) no id can match. A closure made here would share this
  // function's context, specs and conditions included: the live-only one is made elsewhere.
  if (versions.size === 0) return liveOnly(live);
  const memo = new Map<string, ReadonlyMap<string, CompiledPolicy>>();
  return (ids) => {
    const key = ids.join('\n');
    let table = memo.get(key);
    if (table === undefined) {
      table = overlay(ids);
      if (memo.size >= OVERLAY_LIMIT) memo.clear();
      memo.set(key, table);
    }
    return table;
  };

  function overlay(ids: readonly string[]): ReadonlyMap<string, CompiledPolicy> {
    const mergedSpecs = new Map(specs);
    const mergedConditions = new Map(conditions);
    const overridden = new Set<string>();
    for (const id of ids) {
      const version = versions.get(id);
      if (version === undefined) continue;
      const name = version.spec.name;
      overridden.add(name);
      mergedSpecs.set(name, version.spec);
      if (version.spec.condition === undefined) mergedConditions.delete(name);
      else mergedConditions.set(name, compileCondition(version.spec.condition, undefined, onPatternTimeout));
    }
    if (overridden.size === 0) return live;
    const table = new Map(live);
    for (const [name, p] of finish(compilePolicies(mergedSpecs, mergedConditions, inheritorsOf(overridden, specs)))) table.set(name, p);
    return table;
  }
}

/**
 * `names` and every policy whose chain reaches one of them by `inherit`: the chains a version can
 * change (a walk that never reaches an overridden name is identical). Includes the policies that
 * inherit from a name with no live policy, which a version of that name now supplies. Linear in the
 * number of policies, where testing each live chain would be quadratic in a chain's length.
 */
function inheritorsOf(names: ReadonlySet<string>, specs: ReadonlyMap<string, PolicySpec>): Set<string> {
  const children = new Map<string, string[]>();
  for (const spec of specs.values()) {
    if (!spec.inherit) continue;
    const siblings = children.get(spec.inherit);
    if (siblings === undefined) children.set(spec.inherit, [spec.name]);
    else siblings.push(spec.name);
  }
  const found = new Set(names);
  const queue = [...names];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    for (const child of children.get(name) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return found;
}

function liveOnly(live: ReadonlyMap<string, CompiledPolicy>): () => ReadonlyMap<string, CompiledPolicy> {
  return () => live;
}
