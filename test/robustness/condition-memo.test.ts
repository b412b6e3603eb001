// Issue 11, defect 7: per-condition memos grew without bound on caller-chosen model names (2,000
// conditions x 4,000 distinct 4,000-character models: +455 MiB of heap). Through the public
// interface: a compiled snapshot's policies, asked about many distinct models.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/model/snapshot.js';
import { snapshotOf } from '../helpers/snapshot.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const CONDITIONS = 300;

function bundle(): Snapshot {
  const policies = Array.from({ length: CONDITIONS }, (_, i) => `  p${i}: {guardrails: {add: [g]}, condition: {model: "m${i}-.*"}}`);
  return snapshotOf(`guardrails:\n  - {guardrail_name: g, litellm_params: {guardrail: presidio}}\npolicies:\n${policies.join('\n')}\n`);
}

/** Heap growth, in MiB, from asking every policy (its condition and its chain) about `models` distinct models. */
function growthMiB(snapshot: Snapshot, models: number, length: number): number {
  const policies = [...snapshot.policies.values()];
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const before = heap();
  let applied = 0;
  for (let m = 0; m < models; m++) {
    const model = `model-${m}-`.padEnd(length, 'x');
    for (const p of policies) {
      if (p.appliesTo(model)) applied++;
      p.guardrailsFor(model);
    }
  }
  const after = heap();
  expect(applied).toBe(0);
  expect(policies.length).toBe(CONDITIONS); // keeps the snapshot (and its memos) alive until here
  return after - before;
}

describe('condition memos under caller-chosen model names', () => {
  it('stay bounded for many distinct short models (+66 MiB before the bound)', { timeout: 15_000 }, () => {
    expect(growthMiB(bundle(), 3_000, 100)).toBeLessThan(16);
  });

  it('do not hold long models (+41 MiB before the bound)', { timeout: 15_000 }, () => {
    expect(growthMiB(bundle(), 2_000, 4_000)).toBeLessThan(16);
  });

  it('still answer, and still memoize ordinary models', () => {
    const snapshot = bundle();
    const p = snapshot.policies.get('p7');
    expect(p?.appliesTo('m7-gpt-4o')).toBe(true);
    expect(p?.appliesTo('m7-gpt-4o')).toBe(true);
    expect(p?.appliesTo(`m7-${'x'.repeat(5_000)}`)).toBe(true);
    expect(p?.guardrailsFor('m7-x')).toEqual(['g']);
    expect(p?.guardrailsFor('m8-x')).toEqual([]);
  });
});
