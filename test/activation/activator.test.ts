import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../src/model/bundle.js';
import type { PolicySource } from '../../src/sources/source.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { activatorFor } from '../helpers/activator.js';

const GOOD = bundleFromYaml('policies: { a: { guardrails: [x] } }');
const OTHER = bundleFromYaml('policies: { a: { guardrails: [y] } }');
const BAD = bundleFromYaml('policies: { a: { inherit: missing } }');

/** A source that yields the queued bundles in turn (the last one repeats), counting loads. */
function sourceOf(...bundles: Bundle[]): PolicySource & { loads: number } {
  const source = {
    origin: 'test.yaml',
    loads: 0,
    load: async () => {
      const next = bundles[Math.min(source.loads, bundles.length - 1)] as Bundle;
      source.loads++;
      await new Promise((r) => setTimeout(r, 5));
      return next;
    },
  };
  return source;
}

describe('Activator', () => {
  it('swaps in the first good snapshot and announces it', async () => {
    const { holder, activator, events } = activatorFor(sourceOf(GOOD));
    const result = await activator.activate();
    expect(result.kind).toBe('activated');
    expect(holder.current()?.policies.has('a')).toBe(true);
    expect(events.map((e) => e.kind)).toEqual(['activated']);
  });

  it('keeps the previous snapshot when a reload has issues, and reports every issue', async () => {
    const { holder, activator, events } = activatorFor(sourceOf(GOOD, BAD));
    await activator.activate();
    const before = holder.current();
    const result = await activator.activate();
    expect(result.kind).toBe('failed');
    expect(holder.current()).toBe(before);
    const failed = events[1];
    expect(failed?.kind).toBe('failed');
    if (failed?.kind !== 'failed') return;
    expect(failed.serving).toBe(before);
    expect(failed.issues.map((i) => i.rule)).toEqual(['invalid_inheritance']);
    expect(activator.lastFailure?.message).toContain('not activated');
  });

  it('keeps the previous snapshot when the source cannot be read', async () => {
    let calls = 0;
    const source: PolicySource = {
      origin: 'gone.yaml',
      load: async () => {
        if (calls++ === 0) return GOOD;
        throw new Error('ENOENT');
      },
    };
    const { holder, activator, events } = activatorFor(source);
    await activator.activate();
    const result = await activator.activate();
    expect(result.kind).toBe('failed');
    expect(holder.current()?.policies.has('a')).toBe(true);
    expect(events.map((e) => e.kind)).toEqual(['activated', 'failed']);
  });

  it('does not compile a bundle whose content gives the serving revision, and says it kept the snapshot', async () => {
    // Same hash as GOOD but different data: only skipping by revision can keep this from failing.
    const sameHashBroken: Bundle = { ...BAD, hash: GOOD.hash };
    const { activator, events } = activatorFor(sourceOf(GOOD, sameHashBroken));
    await activator.activate();
    const result = await activator.activate();
    expect(result.kind).toBe('unchanged');
    expect(events.map((e) => e.kind)).toEqual(['activated', 'unchanged']);
  });

  it('coalesces triggers that arrive during an activation into one more run', async () => {
    const source = sourceOf(GOOD, OTHER);
    const { holder, activator } = activatorFor(source);
    const results = await Promise.all([activator.activate(), activator.activate(), activator.activate(), activator.activate()]);
    expect(source.loads).toBe(2);
    expect(results.every((r) => r.kind === 'activated')).toBe(true);
    expect(holder.current()?.policies.get('a')?.guardrailsFor(undefined)).toEqual(['y']);
  });
});
