import { describe, expect, it } from 'vitest';
import { DecisionCache, freezeResult, requestKey } from '../../src/client/decision-cache.js';
import { ResolveResponse } from '../../src/gen/guardrail/pdp/v1/resolve.js';

const answer = (revision: string, guardrail = 'g') => freezeResult(ResolveResponse.fromPartial({ guardrails: [guardrail], revision }));

describe('requestKey', () => {
  it('keeps a missing value apart from an empty one, and no context equal to an empty one', () => {
    expect(requestKey({ context: { model: '' } })).not.toBe(requestKey({ context: {} }));
    expect(requestKey({ context: {} })).toBe(requestKey({}));
    expect(requestKey({ context: { tags: [] }, requestPolicies: [] })).toBe(requestKey({}));
  });

  it('tells every field apart, and keeps list order', () => {
    const keys = [
      requestKey({ context: { teamAlias: 'a' } }),
      requestKey({ context: { keyAlias: 'a' } }),
      requestKey({ context: { model: 'a' } }),
      requestKey({ context: { tags: ['a'] } }),
      requestKey({ requestPolicies: ['a'] }),
      requestKey({ keyPolicies: ['a'] }),
      requestKey({ teamPolicies: ['a'] }),
      requestKey({ context: { tags: ['a', 'b'] } }),
      requestKey({ context: { tags: ['b', 'a'] } }),
      requestKey({ context: { tags: ['a,b'] } }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('DecisionCache', () => {
  it('answers only for the revision asked about', () => {
    const cache = new DecisionCache({ maxEntries: 10, maxBytes: 1 << 20 });
    const a = answer('r1');
    cache.set('k', 'r1', a, 10);
    expect(cache.get('k', 'r1')).toBe(a);
    expect(cache.get('k', 'r2')).toBeUndefined();
  });

  it('evicts the least recently used beyond maxEntries', () => {
    const cache = new DecisionCache({ maxEntries: 2, maxBytes: 1 << 20 });
    cache.set('a', 'r', answer('r'), 10);
    cache.set('b', 'r', answer('r'), 10);
    cache.get('a', 'r');
    cache.set('c', 'r', answer('r'), 10);
    expect([cache.get('a', 'r'), cache.get('b', 'r'), cache.get('c', 'r')].map((x) => x !== undefined)).toEqual([true, false, true]);
  });

  it('counts bytes, evicts to stay within maxBytes, and refuses an entry larger than the bound', () => {
    const cache = new DecisionCache({ maxEntries: 100, maxBytes: 3000 });
    cache.set('a', 'r', answer('r'), 100); // 2 + 600 + 640 bytes
    cache.set('b', 'r', answer('r'), 100);
    expect(cache.bytes).toBe(2 * 1242);
    cache.set('c', 'r', answer('r'), 100);
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBeLessThanOrEqual(3000);
    cache.set('huge', 'r', answer('r'), 1000);
    expect(cache.get('huge', 'r')).toBeUndefined();
    cache.set('b', 'r', answer('r'), 10); // replacing an entry adjusts the count
    expect(cache.bytes).toBe(1242 + 2 + 60 + 640);
  });

  it('retainRevision drops the other revisions; stale() still finds any kept answer, marked stale', () => {
    const cache = new DecisionCache({ maxEntries: 10, maxBytes: 1 << 20 });
    cache.set('a', 'r1', answer('r1'), 10);
    cache.set('b', 'r2', answer('r2'), 10);
    expect(cache.stale('a')).toEqual({ ...answer('r1'), stale: true });
    expect(cache.stale('a')).toBe(cache.stale('a'));
    cache.retainRevision('r2');
    expect(cache.size).toBe(1);
    expect(cache.stale('a')).toBeUndefined();
  });

  it('hands out frozen answers', () => {
    const a = answer('r1');
    expect(() => (a.guardrails as string[]).push('x')).toThrow(TypeError);
    expect(a.stale).toBe(false);
  });
});
