import { bench, describe } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { resolve } from '../../src/engine/resolve.js';
import type { ResolveRequest } from '../../src/model/decision.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { syntheticBundle, syntheticContext } from './synthetic.js';

// In-process Resolve (engine only, no gRPC) at growing attachment counts. The cost should follow
// the attachments that can match a context, not the total.
for (const size of [100, 10_000, 100_000]) {
  describe(`resolve with ${size.toLocaleString('en')} attachments`, () => {
    const result = compile(syntheticBundle(size), { mode: 'compat' });
    if (!result.ok) throw new Error(result.issues[0]?.message);
    const snapshot: Snapshot = result.snapshot;
    const requests: ResolveRequest[] = Array.from({ length: 1024 }, (_, i) => ({
      context: syntheticContext(size, i),
      requestPolicies: [],
      keyPolicies: [],
      teamPolicies: [],
    }));
    let i = 0;
    bench('resolve()', () => {
      resolve(snapshot, requests[i++ & 1023] as ResolveRequest);
    });
  });
}

describe('activation', () => {
  const bundle = syntheticBundle(20_000); // 10,000 policies
  bench('compile a 10,000-policy bundle', () => {
    compile(bundle, { mode: 'compat' });
  }, { iterations: 5, warmupIterations: 1 });
});
