import type { PolicySpec, PolicyVersionSpec } from '../model/policy.js';
import type { CompiledPolicy } from '../model/snapshot.js';
import { compileCondition, type CompiledCondition } from './condition.js';
import { compilePolicies } from './policies.js';
import type { PatternTimeoutListener } from '../regex/bounded.js';

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
    // A chain changes only if it passed through an overridden name (the walk is identical until then).
    const affected = new Set(overridden);
    for (const p of live.values()) if (p.chain.some((n) => overridden.has(n))) affected.add(p.name);
    const table = new Map(live);
    for (const [name, p] of compilePolicies(mergedSpecs, mergedConditions, affected)) table.set(name, p);
    return table;
  }
}

function liveOnly(live: ReadonlyMap<string, CompiledPolicy>): () => ReadonlyMap<string, CompiledPolicy> {
  return () => live;
}
