import { createHash } from 'node:crypto';
import type { Bundle } from '../../src/model/bundle.js';
import type { RequestContext } from '../../src/model/decision.js';

/**
 * A deterministic synthetic bundle with `attachments` attachments in a realistic mix: one global,
 * exact and prefix team/key patterns, models, tags, combined dimensions; policies with
 * inheritance and regex conditions. Built as plain data (no YAML) so large sizes build fast.
 */
export function syntheticBundle(attachments: number): Bundle {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const guardrails = Array.from({ length: 50 }, (_, i) => ({
    guardrail_name: `g${i}`,
    litellm_params: { guardrail: 'presidio', mode: 'pre_call' },
  }));
  const policyCount = Math.max(10, Math.floor(attachments / 2));
  const policies: Record<string, unknown> = {};
  for (let i = 0; i < policyCount; i++) {
    const p: Record<string, unknown> = { guardrails: { add: [`g${rand(50)}`, `g${rand(50)}`], remove: rand(5) === 0 ? [`g${rand(50)}`] : [] } };
    if (i > 0 && rand(5) === 0) p['inherit'] = `p${rand(i)}`;
    if (rand(10) === 0) p['condition'] = { model: ['gpt-4.*', `claude-${rand(4)}.*`] };
    policies[`p${i}`] = p;
  }
  const list: Record<string, unknown>[] = [{ policy: 'p0', scope: '*' }];
  for (let i = 1; i < attachments; i++) {
    const policy = `p${rand(policyCount)}`;
    const kind = rand(20);
    if (kind < 8) list.push({ policy, teams: [`team-${rand(attachments)}`] });
    else if (kind < 12) list.push({ policy, keys: [`key-${rand(attachments)}-*`] });
    else if (kind < 15) list.push({ policy, models: [rand(2) ? `model-${rand(1000)}` : `model-${rand(1000)}*`] });
    else if (kind < 18) list.push({ policy, tags: [`tag-${rand(attachments)}`] });
    else list.push({ policy, teams: [`team-${rand(attachments)}*`], models: ['gpt-4*'] });
  }
  const data = { guardrails, policies, policy_attachments: list };
  return {
    origin: `synthetic-${attachments}`,
    hash: createHash('sha256').update(JSON.stringify(data)).digest('hex'),
    data,
    locate: () => undefined,
    keysAt: () => undefined,
    duplicateKeys: [],
  } as Bundle;
}

/** A context that hits a few attachments of a synthetic bundle of this size. */
export function syntheticContext(attachments: number, i: number): RequestContext {
  return {
    teamAlias: `team-${(i * 7919) % attachments}`,
    keyAlias: `key-${(i * 104729) % attachments}-abc`,
    model: i % 2 ? 'gpt-4o' : `model-${i % 1000}`,
    tags: [`tag-${(i * 31) % attachments}`],
  };
}
