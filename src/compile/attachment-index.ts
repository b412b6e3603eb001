import type { RequestContext } from '../model/decision.js';
import type { AttachmentSpec } from '../model/policy.js';
import type { AttachmentIndex, AttachmentMatch } from '../model/snapshot.js';
import { createPatternCompiler, MATCH_ALL, matchesPatterns, type PatternSet } from './patterns.js';
import { PrefixTrie } from './prefix-trie.js';
import type { Steps } from '../steps.js';

interface CompiledAttachment {
  readonly spec: AttachmentSpec;
  /** Dense id of the policy name, for "first match per policy" without a Set per request. */
  readonly policyId: number;
  readonly teams: PatternSet;
  readonly keys: PatternSet;
  readonly models: PatternSet;
  /** undefined: tags are not checked (opt-in, §3). */
  readonly tags: PatternSet | undefined;
}

/** Exact values and prefixes of one dimension, each pointing at the attachments anchored there. */
class DimensionIndex {
  readonly exact = new Map<string, number[]>();
  readonly prefixes = new PrefixTrie();

  add(set: PatternSet, id: number): void {
    if (set.isAny) this.prefixes.add('', id);
    for (const v of set.exact) {
      const ids = this.exact.get(v);
      if (ids === undefined) this.exact.set(v, [id]);
      else ids.push(id);
    }
    for (const p of set.prefixes) this.prefixes.add(p, id);
  }

  collect(value: string, visit: (id: number) => void): void {
    const ids = this.exact.get(value);
    if (ids !== undefined) for (const id of ids) visit(id);
    this.prefixes.collect(value, visit);
  }
}

type Dimension = 'teams' | 'keys' | 'models' | 'tags';

/**
 * Builds the attachment index. Each attachment is anchored in one dimension where it cannot match
 * everything (preferring exact-only lists); attachments that match every request (global scope,
 * or no restricting field) are kept in one ordered list. A lookup collects candidates from the
 * context's values in each dimension, verifies every dimension of each candidate (AND), and keeps
 * the first match per policy in attachment order. The cost follows the candidates, not the total.
 * Steps: two per attachment.
 */
export function* buildAttachmentIndex(specs: readonly AttachmentSpec[]): Steps<AttachmentIndex> {
  const policyIds = new Map<string, number>();
  const compiled: CompiledAttachment[] = [];
  const compilePatterns = createPatternCompiler();
  for (const spec of specs) {
    let policyId = policyIds.get(spec.policy);
    if (policyId === undefined) policyIds.set(spec.policy, (policyId = policyIds.size));
    const set = (list: readonly string[] | undefined): PatternSet =>
      spec.isGlobal || list === undefined ? MATCH_ALL : compilePatterns(list);
    compiled.push({
      spec,
      policyId,
      teams: set(spec.teams),
      keys: set(spec.keys),
      models: set(spec.models),
      tags: spec.isGlobal || spec.tags === undefined ? undefined : compilePatterns(spec.tags),
    });
    yield;
  }
  const index = new IndexedAttachments(compiled, policyIds.size);
  for (let id = 0; id < compiled.length; id++) {
    index.place(id);
    yield;
  }
  return index;
}

class IndexedAttachments implements AttachmentIndex {
  readonly size: number;
  readonly specs: readonly AttachmentSpec[];
  readonly #all: readonly CompiledAttachment[];
  readonly #always: number[] = [];
  readonly #dims: Record<Dimension, DimensionIndex> = {
    teams: new DimensionIndex(),
    keys: new DimensionIndex(),
    models: new DimensionIndex(),
    tags: new DimensionIndex(),
  };
  // Scratch state for one synchronous lookup at a time (the event loop never interleaves them).
  readonly #seen: Uint32Array;
  readonly #policySeen: Uint32Array;
  // Never truncated (setting length to 0 drops the storage): #candidateCount says how many are this call's.
  readonly #candidates: number[] = [];
  #candidateCount = 0;
  readonly #out: AttachmentMatch[] = [];
  #generation = 0;
  readonly #visit = (id: number): void => {
    if (this.#seen[id] !== this.#generation) {
      this.#seen[id] = this.#generation;
      this.#candidates[this.#candidateCount++] = id;
    }
  };

  constructor(all: readonly CompiledAttachment[], policyCount: number) {
    this.size = all.length;
    this.specs = Object.freeze(all.map((a) => a.spec));
    this.#all = all;
    this.#seen = new Uint32Array(all.length);
    this.#policySeen = new Uint32Array(policyCount);
  }

  /** Indexes attachment `id`; call once per attachment, in order, before the first `match`. */
  place(id: number): void {
    const a = this.#all[id] as CompiledAttachment;
    const anchor = chooseAnchor(a);
    if (anchor === undefined) this.#always.push(id);
    else this.#dims[anchor].add(a[anchor] as PatternSet, id);
  }

  match(ctx: RequestContext): readonly AttachmentMatch[] {
    const gen = this.#nextGeneration();
    this.#candidateCount = 0;
    if (ctx.teamAlias !== undefined) this.#dims.teams.collect(ctx.teamAlias, this.#visit);
    if (ctx.keyAlias !== undefined) this.#dims.keys.collect(ctx.keyAlias, this.#visit);
    if (ctx.model !== undefined) this.#dims.models.collect(ctx.model, this.#visit);
    const tags = ctx.tags;
    for (let t = 0; t < tags.length; t++) this.#dims.tags.collect(tags[t] as string, this.#visit);
    const n = this.#candidateCount;
    let candidates = this.#candidates;
    if (n > INSERTION_SORT_MAX) candidates = candidates.slice(0, n).sort((a, b) => a - b);
    else sortSmall(candidates, n); // in place: Array#sort allocates a work array

    const out = this.#out;
    let count = 0;
    const always = this.#always;
    let i = 0;
    let j = 0;
    while (i < always.length || j < n) {
      const fromAlways = j >= n || (i < always.length && (always[i] as number) < (candidates[j] as number));
      const id = fromAlways ? (always[i++] as number) : (candidates[j++] as number);
      const a = this.#all[id] as CompiledAttachment;
      if (this.#policySeen[a.policyId] === gen) continue;
      if (!fromAlways && !matches(a, ctx)) continue;
      this.#policySeen[a.policyId] = gen;
      out[count++] = { attachment: a.spec, matchedVia: matchedVia(a, ctx) };
    }
    // Copied out at its final size; the scratch list lets go of this call's matches.
    const result = out.slice(0, count);
    out.fill(NO_MATCH, 0, count);
    return result;
  }

  #nextGeneration(): number {
    if (this.#generation === 0xffffffff) {
      this.#seen.fill(0);
      this.#policySeen.fill(0);
      this.#generation = 0;
    }
    return ++this.#generation;
  }
}

/** Candidate lists this short are sorted by insertion. */
const INSERTION_SORT_MAX = 32;

function sortSmall(ids: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const v = ids[i] as number;
    let j = i - 1;
    for (; j >= 0 && (ids[j] as number) > v; j--) ids[j + 1] = ids[j] as number;
    ids[j + 1] = v;
  }
}

const NO_MATCH: AttachmentMatch = Object.freeze({ attachment: Object.freeze({}) as AttachmentSpec, matchedVia: '' });

/** The dimension to index an attachment under, or undefined when it matches every request. */
function chooseAnchor(a: CompiledAttachment): Dimension | undefined {
  let best: Dimension | undefined;
  let bestCost = Infinity;
  for (const dim of ['teams', 'keys', 'models', 'tags'] as const) {
    const set = a[dim];
    if (set === undefined || (set.isAny && dim !== 'tags')) continue;
    // Exact-only lists are the most selective; a tag "*" (any tag at all) the least.
    const cost = set.isAny ? 2 : set.prefixes.length > 0 ? 1 : 0;
    if (cost < bestCost) [best, bestCost] = [dim, cost];
  }
  return best;
}

function matches(a: CompiledAttachment, ctx: RequestContext): boolean {
  return (
    matchesPatterns(a.teams, ctx.teamAlias) &&
    matchesPatterns(a.keys, ctx.keyAlias) &&
    matchesPatterns(a.models, ctx.model) &&
    (a.tags === undefined || firstMatchingTag(a.tags, ctx.tags) !== undefined)
  );
}

function firstMatchingTag(set: PatternSet, tags: readonly string[]): string | undefined {
  for (let i = 0; i < tags.length; i++) if (matchesPatterns(set, tags[i])) return tags[i];
  return undefined;
}

/**
 * LiteLLM's `_describe_match_reason` (§5): "scope:*" for global; otherwise tag, team, key, model
 * reasons in that order, naming the context value (the first matching context tag), joined by "+";
 * "scope:default" when none applies. A reason needs a non-empty list and a non-empty value.
 */
function matchedVia(a: CompiledAttachment, ctx: RequestContext): string {
  const spec = a.spec;
  if (spec.isGlobal) return 'scope:*';
  let via = '';
  const tag = a.tags === undefined ? undefined : firstMatchingTag(a.tags, ctx.tags);
  if (tag !== undefined) via = `tag:${tag}`;
  if (spec.teams !== undefined && ctx.teamAlias) via += `${via && '+'}team:${ctx.teamAlias}`;
  if (spec.keys !== undefined && ctx.keyAlias) via += `${via && '+'}key:${ctx.keyAlias}`;
  if (spec.models !== undefined && ctx.model) via += `${via && '+'}model:${ctx.model}`;
  return via || 'scope:default';
}
