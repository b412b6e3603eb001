// Synthetic bundles and requests for the benchmarks: deterministic, built as plain data (no YAML)
// so 100,000 attachments build in well under a second, and written as JSON into a temp dir (no
// committed fixtures).
import { writeFileSync, renameSync } from 'node:fs';

/**
 * A bundle with `attachments` attachments (and half as many policies, at least 10) in a realistic
 * mix: one global attachment (`scope: '*'`), exact and prefix (`-*`) team and key patterns, exact
 * and prefix models, tags, and combined team+model attachments; policies with add/remove lists,
 * inheritance (from an earlier policy, so never a cycle) and Python-regex model conditions.
 * `variant` changes the seed, so two variants differ in content but not in shape (for reloads).
 */
export function syntheticBundleData(attachments, variant = 0) {
  let seed = 7 + variant * 7919;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const guardrails = Array.from({ length: 50 }, (_, i) => ({
    guardrail_name: `g${i}`,
    litellm_params: { guardrail: 'presidio', mode: 'pre_call' },
  }));
  const policyCount = Math.max(10, Math.floor(attachments / 2));
  const policies = {};
  for (let i = 0; i < policyCount; i++) {
    const p = { guardrails: { add: [`g${rand(50)}`, `g${rand(50)}`], remove: rand(5) === 0 ? [`g${rand(50)}`] : [] } };
    if (i > 0 && rand(5) === 0) p.inherit = `p${rand(i)}`;
    if (rand(10) === 0) p.condition = { model: ['gpt-4.*', `claude-${rand(4)}.*`] };
    policies[`p${i}`] = p;
  }
  const list = [{ policy: 'p0', scope: '*' }];
  for (let i = 1; i < attachments; i++) {
    const policy = `p${rand(policyCount)}`;
    const kind = rand(20);
    if (kind < 8) list.push({ policy, teams: [`team-${rand(attachments)}`] });
    else if (kind < 12) list.push({ policy, keys: [`key-${rand(attachments)}-*`] });
    else if (kind < 15) list.push({ policy, models: [rand(2) ? `model-${rand(1000)}` : `model-${rand(1000)}*`] });
    else if (kind < 18) list.push({ policy, tags: [`tag-${rand(attachments)}`] });
    else list.push({ policy, teams: [`team-${rand(attachments)}*`], models: ['gpt-4*'] });
  }
  return { guardrails, policies, policy_attachments: list };
}

/**
 * The i-th request (ts-proto ResolveRequest shape) for a bundle of this size: it hits a few
 * attachments (the global one, usually a team, key prefix, model or tag), and every fourth
 * request also names a team policy, as a gateway passing the team's metadata.policies does.
 */
export function syntheticRequest(attachments, i) {
  const policyCount = Math.max(10, Math.floor(attachments / 2));
  return {
    context: {
      teamAlias: `team-${(i * 7919) % attachments}`,
      keyAlias: `key-${(i * 104729) % attachments}-abc`,
      model: i % 2 ? 'gpt-4o' : `model-${i % 1000}`,
      tags: [`tag-${(i * 31) % attachments}`],
    },
    requestPolicies: [],
    keyPolicies: [],
    teamPolicies: i % 4 === 0 ? [`p${(i * 13) % policyCount}`] : [],
  };
}

/**
 * The bundle (JSON text) with one more attachment, for team `reload-variant-<n>`: new content (a
 * full activation) that no synthetic request matches, so answers keep their size and content.
 */
export function reloadVariant(bundleJson, n) {
  const data = JSON.parse(bundleJson);
  data.policy_attachments.push({ policy: 'p1', teams: [`reload-variant-${n}`] });
  return JSON.stringify(data);
}

/** Writes a bundle as JSON by write + rename, so a watcher never reads half a file. */
export function writeBundleFile(path, json) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, json);
  renameSync(tmp, path);
}
