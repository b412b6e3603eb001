import { describe, expect, it } from 'vitest';
import { buildAttachmentIndex } from '../../src/compile/attachment-index.js';
import type { RequestContext } from '../../src/model/decision.js';
import type { AttachmentSpec } from '../../src/model/policy.js';
import { ctx } from '../helpers/snapshot.js';
import { finish } from '../../src/steps.js';

type Fields = Partial<Omit<AttachmentSpec, 'index'>>;

function index(...fields: Fields[]) {
  return finish(buildAttachmentIndex(
    fields.map((f, i) => ({
      index: i,
      policy: f.policy ?? `p${i}`,
      isGlobal: f.isGlobal ?? false,
      teams: f.teams,
      keys: f.keys,
      models: f.models,
      tags: f.tags,
    })),
  ));
}

const matchedPolicies = (fields: Fields[], c: Partial<RequestContext>) => index(...fields).match(ctx(c)).map((m) => m.attachment.policy);
const isMatch = (f: Fields, c: Partial<RequestContext>) => matchedPolicies([f], c).length === 1;
const via = (f: Fields, c: Partial<RequestContext>) => index(f).match(ctx(c))[0]?.matchedVia;

describe('attachment scope matching (LiteLLM §3)', () => {
  it('matches a global scope "*" for every request and ignores its other fields, tags included', () => {
    const f: Fields = { isGlobal: true, teams: ['nope'], tags: ['never'] };
    expect(isMatch(f, {})).toBe(true);
    expect(isMatch(f, { teamAlias: 'other', model: 'm' })).toBe(true);
  });

  it('matches every request when an attachment has no fields', () => {
    expect(isMatch({}, {})).toBe(true);
    expect(isMatch({}, { teamAlias: 't', keyAlias: 'k', model: 'm', tags: ['x'] })).toBe(true);
  });

  it('combines dimensions with AND', () => {
    const f: Fields = { teams: ['t1'], models: ['gpt-4'] };
    expect(isMatch(f, { teamAlias: 't1', model: 'gpt-4' })).toBe(true);
    expect(isMatch(f, { teamAlias: 't1', model: 'gpt-3' })).toBe(false);
    expect(isMatch(f, { teamAlias: 't2', model: 'gpt-4' })).toBe(false);
  });

  it('treats an unset teams/keys/models list as match-all, even for a missing value', () => {
    expect(isMatch({ keys: ['k'] }, { keyAlias: 'k' })).toBe(true);
  });

  it('checks tags only when the attachment has tags (opt-in)', () => {
    expect(isMatch({ teams: ['t'] }, { teamAlias: 't', tags: [] })).toBe(true);
    expect(isMatch({ tags: ['hipaa'] }, { tags: [] })).toBe(false);
    expect(isMatch({ tags: ['hipaa'] }, { tags: ['pci', 'hipaa'] })).toBe(true);
    expect(isMatch({ tags: ['hipaa'] }, { tags: ['pci'] })).toBe(false);
  });

  it('matches long lists (looked up by hash) exactly as short ones (scanned)', () => {
    const teams = Array.from({ length: 20 }, (_, i) => `team-${i}`);
    for (const list of [teams, teams.slice(0, 2), [...teams, 'ops-*']]) {
      expect(isMatch({ teams: list, models: ['gpt-4'] }, { teamAlias: 'team-1', model: 'gpt-4' })).toBe(true);
      expect(isMatch({ teams: list, models: ['gpt-4'] }, { teamAlias: 'team-1', model: 'gpt-4o' })).toBe(false);
      expect(isMatch({ teams: list, models: ['gpt-4'] }, { teamAlias: 'team-100', model: 'gpt-4' })).toBe(false);
    }
    expect(isMatch({ teams: [...teams, 'ops-*'], models: ['gpt-4'] }, { teamAlias: 'ops-eu', model: 'gpt-4' })).toBe(true);
  });

  it('needs at least one context tag even for the tag pattern "*"', () => {
    expect(isMatch({ tags: ['*'] }, { tags: [] })).toBe(false);
    expect(isMatch({ tags: ['*'] }, { tags: ['anything'] })).toBe(true);
  });

  it('treats only a trailing * as a wildcard (prefix match)', () => {
    expect(isMatch({ teams: ['health-*'] }, { teamAlias: 'health-team' })).toBe(true);
    expect(isMatch({ teams: ['health-*'] }, { teamAlias: 'wealth-team' })).toBe(false);
    expect(isMatch({ models: ['gpt-*-turbo'] }, { model: 'gpt-4-turbo' })).toBe(false);
    expect(isMatch({ models: ['gpt-*-turbo'] }, { model: 'gpt-*-turbo' })).toBe(true);
  });

  it('treats ? and . literally (scope patterns are not regexes)', () => {
    expect(isMatch({ models: ['gpt-?'] }, { model: 'gpt-4' })).toBe(false);
    expect(isMatch({ models: ['gpt-?'] }, { model: 'gpt-?' })).toBe(true);
    expect(isMatch({ models: ['gpt.4'] }, { model: 'gpt-4' })).toBe(false);
  });

  it('reads "**" as "starts with *"', () => {
    expect(isMatch({ teams: ['**'] }, { teamAlias: '*team' })).toBe(true);
    expect(isMatch({ teams: ['**'] }, { teamAlias: 'team' })).toBe(false);
  });

  it('lets a prefix pattern match the bare prefix', () => {
    expect(isMatch({ keys: ['dev-key-*'] }, { keyAlias: 'dev-key-' })).toBe(true);
  });

  it('is case-sensitive', () => {
    expect(isMatch({ teams: ['Team'] }, { teamAlias: 'team' })).toBe(false);
    expect(isMatch({ teams: ['Team*'] }, { teamAlias: 'team-1' })).toBe(false);
  });

  it('matches a missing value only with the literal "*", not with a prefix pattern', () => {
    expect(isMatch({ teams: ['*'] }, {})).toBe(true);
    expect(isMatch({ teams: ['dev-*'] }, {})).toBe(false);
    expect(isMatch({ teams: ['dev-*', '*'] }, {})).toBe(true);
  });

  it('distinguishes an empty alias from a missing one', () => {
    expect(isMatch({ teams: [''] }, { teamAlias: '' })).toBe(true);
    expect(isMatch({ teams: [''] }, {})).toBe(false);
    expect(isMatch({ teams: ['x*'] }, { teamAlias: '' })).toBe(false);
  });

  it('lets "*" match the empty string', () => {
    expect(isMatch({ teams: ['*'], keys: ['k'] }, { teamAlias: '', keyAlias: 'k' })).toBe(true);
  });

  it('keeps attachment order and only the first matching attachment per policy', () => {
    const fields: Fields[] = [
      { policy: 'b', teams: ['t'] },
      { policy: 'a', isGlobal: true },
      { policy: 'b', isGlobal: true },
      { policy: 'c', models: ['m*'] },
    ];
    const matches = index(...fields).match(ctx({ teamAlias: 't', model: 'm1' }));
    expect(matches.map((m) => [m.attachment.policy, m.attachment.index])).toEqual([
      ['b', 0],
      ['a', 1],
      ['c', 3],
    ]);
  });

  it('attributes a policy to a later attachment when its earlier one does not match', () => {
    const matches = index({ policy: 'p', teams: ['x'] }, { policy: 'p', keys: ['k'] }).match(ctx({ keyAlias: 'k' }));
    expect(matches.map((m) => m.matchedVia)).toEqual(['key:k']);
  });

  it('keeps attachments that name undefined policies (they are dropped later)', () => {
    expect(matchedPolicies([{ policy: '' }, { policy: 'ghost', teams: ['t'] }], { teamAlias: 't' })).toEqual(['', 'ghost']);
  });
});

describe('matched_via attribution (LiteLLM §5)', () => {
  it('says scope:* for a global attachment', () => {
    expect(via({ isGlobal: true }, { teamAlias: 't' })).toBe('scope:*');
  });

  it('joins tag, team, key and model reasons in that order, naming context values', () => {
    const f: Fields = { models: ['m*'], keys: ['k*'], teams: ['t*'], tags: ['b*'] };
    expect(via(f, { teamAlias: 't1', keyAlias: 'k1', model: 'm1', tags: ['aa', 'bb', 'bc'] })).toBe('tag:bb+team:t1+key:k1+model:m1');
  });

  it('names the first context tag that matches, in context order', () => {
    expect(via({ tags: ['x', 'y'] }, { tags: ['z', 'y', 'x'] })).toBe('tag:y');
  });

  it('reports the context value, not the pattern, even for "*"', () => {
    expect(via({ teams: ['*'] }, { teamAlias: 'platform' })).toBe('team:platform');
  });

  it('says scope:default when there are no fields', () => {
    expect(via({}, { teamAlias: 't' })).toBe('scope:default');
  });

  it('says scope:default when the patterned dimensions have missing or empty context values', () => {
    expect(via({ teams: ['*'], keys: ['*'] }, {})).toBe('scope:default');
    expect(via({ teams: ['*'] }, { teamAlias: '' })).toBe('scope:default');
  });
});

describe('the attachment index', () => {
  // The reference: LiteLLM's linear scan, written straight from §3.
  const patternMatch = (value: string | undefined, patterns: readonly string[]) =>
    value === undefined
      ? patterns.includes('*')
      : patterns.some((p) => (p.endsWith('*') ? value.startsWith(p.slice(0, -1)) : p === value));
  const naive = (specs: AttachmentSpec[], c: RequestContext) => {
    const seen = new Set<string>();
    const out: number[] = [];
    for (const a of specs) {
      const ok =
        a.isGlobal ||
        (patternMatch(c.teamAlias, a.teams ?? ['*']) &&
          patternMatch(c.keyAlias, a.keys ?? ['*']) &&
          patternMatch(c.model, a.models ?? ['*']) &&
          (a.tags === undefined || (c.tags.length > 0 && c.tags.some((t) => patternMatch(t, a.tags as string[])))));
      if (ok && !seen.has(a.policy)) {
        seen.add(a.policy);
        out.push(a.index);
      }
    }
    return out;
  };

  it('returns exactly what a linear scan returns, over thousands of random attachments and contexts', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const values = ['', 'a', 'ab', 'abc', 'b', 'ba', '*', 'x*y'];
    const pattern = () => {
      const v = values[rand(values.length)] as string;
      return rand(3) === 0 ? `${v}*` : v;
    };
    const list = () => (rand(3) === 0 ? undefined : Array.from({ length: 1 + rand(3) }, pattern));
    const specs: AttachmentSpec[] = Array.from({ length: 3000 }, (_, i) => ({
      index: i,
      policy: `p${rand(400)}`,
      isGlobal: rand(50) === 0,
      teams: list(),
      keys: list(),
      models: list(),
      tags: rand(2) === 0 ? undefined : list(),
    }));
    const idx = finish(buildAttachmentIndex(specs));
    const maybe = () => (rand(4) === 0 ? undefined : (values[rand(values.length)] as string));
    for (let n = 0; n < 2000; n++) {
      const c = ctx({
        teamAlias: maybe(),
        keyAlias: maybe(),
        model: maybe(),
        tags: Array.from({ length: rand(3) }, () => values[rand(values.length)] as string),
      });
      expect(idx.match(c).map((m) => m.attachment.index)).toEqual(naive(specs, c));
    }
  });
});
