// What the client's decision cache holds per answer, against what it counts (its byte bound is an
// estimate from the answer's wire size: src/client/decision-cache.ts). Fills a DecisionCache with
// ENTRIES decoded answers of one request shape and prints the heap growth after full GCs next to
// the cache's own count. In-process, on dist/ (run `npm run build` first):
//
//   node --expose-gc bench/client-cache-heap.mjs [ENTRIES=20000]
import { DecisionCache, freezeResult, requestKey } from '../dist/client/decision-cache.js';
import { compile } from '../dist/compile/compile.js';
import { resolve } from '../dist/engine/resolve.js';
import { ResolveResponse } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest, toResolveResponse } from '../dist/server/convert/resolve.js';
import { createBundleFileSource } from '../dist/sources/bundle-file.js';
import { finish } from '../dist/steps.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const entries = Number(process.argv[2] ?? 20_000);
const compiled = finish(compile(await createBundleFileSource({ path: new URL('../examples/bundle.yaml', import.meta.url).pathname }).load(), { mode: 'strict' }));
if (!compiled.ok) throw new Error('examples/bundle.yaml does not compile');

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const shapes = {
  'no context (global policy only)': (i) => ({ context: { keyAlias: `k-${i}`, tags: [] }, requestPolicies: [], keyPolicies: [], teamPolicies: [] }),
  'health-team on gpt-4 (3 policies, a pipeline)': (i) => ({ context: { teamAlias: 'health-team', keyAlias: `k-${i}`, model: 'gpt-4', tags: [] }, requestPolicies: [], keyPolicies: [], teamPolicies: [] }),
};
for (const [name, request] of Object.entries(shapes)) {
  const cache = new DecisionCache({ maxEntries: entries, maxBytes: Number.MAX_SAFE_INTEGER });
  const wire = Buffer.from(ResolveResponse.encode(toResolveResponse(resolve(compiled.snapshot, toResolveRequest(request(0))))).finish());
  const before = heap();
  for (let i = 0; i < entries; i++) {
    const bytes = Buffer.from(wire); // as received: each answer decoded from its own buffer
    cache.set(requestKey(request(i)), 'r', freezeResult(ResolveResponse.decode(bytes)), bytes.length);
  }
  const measured = (heap() - before) / entries;
  console.log(`${name}: ${wire.length} wire bytes; heap ${measured.toFixed(0)} bytes per entry, counted ${(cache.bytes / cache.size).toFixed(0)}`);
}
