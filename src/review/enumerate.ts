import { compilePatterns, matchesPatterns, type PatternSet } from '../compile/patterns.js';
import type { RequestContext } from '../model/decision.js';
import type { AttachmentSpec, ConditionSpec } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import { conditionSamples, conditionTest } from './model-samples.js';
import { DimensionClasses, MISSING, OTHER, type ClassKey } from './value-classes.js';

/**
 * The context classes of two policy sets and one witness each (docs/policy-review.md).
 *
 * The patterns of both sides split each dimension into classes (value-classes.ts). A **cell** fixes
 * the classes of the team, key and tag dimensions: the empty cell (no team, key or tag singled
 * out), and for every attachment the product of the classes its own lists admit in the dimensions
 * it restricts (an attachment `teams: [health-*], keys: [k1]` gives one cell per team class inside
 * `health-*` with key k1). Tags are sets matched with "any tag matches any pattern", so a request's
 * attachments are the union of those of its single tags: one tag per witness is enough.
 *
 * Within a cell the model is split by the model patterns of the attachments the cell matches and by
 * the conditions of their policies' inheritance chains, on both sides (model-samples.ts). The empty
 * cell's attachments are the global and model-only ones, so it crosses every model class they make.
 * A witness is a concrete request context of one (cell, model class).
 *
 * Bounded: a cell product of more than `maxCellsPerAttachment` is cut, and once `maxWitnesses`
 * witnesses are listed the rest are not. An attachment that lost cells that way, and a condition no
 * candidate model matches, are returned as `unlisted`, for the report to name when they changed.
 */
export interface Witness {
  /** `team=…, key=…, tag=…, model=…` (dimensions the class does not single out are left out; none: `(other)`). */
  readonly label: string;
  /** The cell's label (without the model), and the model part alone, for grouping. */
  readonly cell: string;
  readonly model: string;
  readonly context: RequestContext;
}

export interface EnumerationBound {
  readonly maxCellsPerAttachment: number;
  readonly maxWitnesses: number;
}

/** The default bound: documented in README and docs/policy-review.md. */
export const DEFAULT_BOUND: EnumerationBound = Object.freeze({ maxCellsPerAttachment: 1_000, maxWitnesses: 1_000_000 });

/** What the enumeration could not cover. */
export interface Unlisted {
  /** Attachments some of whose cells were cut by the bound, and why. */
  readonly attachments: readonly { readonly spec: AttachmentSpec; readonly reason: string }[];
  /** Condition patterns of these policies for which no witness model was found (policy -> patterns). */
  readonly conditions: ReadonlyMap<string, readonly string[]>;
}

export interface Enumeration {
  readonly witnesses: readonly Witness[];
  readonly cells: number;
  readonly unlisted: Unlisted;
}

/** The class of requests no team, key, tag or model pattern singles out. */
export const OTHER_LABEL = '(other)';

type Dim = 'teams' | 'keys' | 'tags';
const DIMS: readonly Dim[] = ['teams', 'keys', 'tags'];
const LABEL: Record<Dim, string> = { teams: 'team', keys: 'key', tags: 'tag' };

/** An attachment of either side (equal attachments once), compiled for matching. */
interface Entry {
  readonly spec: AttachmentSpec;
  readonly sets: Readonly<Record<Dim | 'models', PatternSet | undefined>>;
  /** The non-model dimensions it restricts. */
  readonly restricts: readonly Dim[];
}

type Cell = Partial<Record<Dim, ClassKey>>;

/** Enumerates the witnesses of two snapshots (see the module comment). */
export function enumerateWitnesses(old: Snapshot, next: Snapshot, bound: EnumerationBound = DEFAULT_BOUND): Enumeration {
  const entries = collectEntries([old, next]);
  const classes: Record<Dim | 'models', DimensionClasses> = {
    teams: new DimensionClasses(),
    keys: new DimensionClasses(),
    tags: new DimensionClasses(),
    models: new DimensionClasses(),
  };
  for (const { spec } of entries) {
    if (spec.isGlobal) continue;
    for (const d of [...DIMS, 'models'] as const) if (spec[d] !== undefined) classes[d].add(spec[d] as readonly string[]);
  }

  // Cells, in attachment order after the empty one.
  const cells = new Map<string, { cell: Cell }>([['', { cell: {} }]]);
  const cut = new Map<Entry, string>();
  for (const e of entries) {
    if (e.restricts.length === 0) continue;
    const lists = e.restricts.map((d) => (d !== 'tags' || !(e.sets.tags as PatternSet).isAny ? classes[d].classesWithin(e.spec[d] as readonly string[]) : [OTHER]));
    const total = lists.reduce((n, l) => n * l.length, 1);
    let listed = 0;
    for (const combo of product(lists)) {
      if (listed >= bound.maxCellsPerAttachment) break;
      listed++;
      const cell: Cell = {};
      e.restricts.forEach((d, i) => (cell[d] = combo[i] as ClassKey));
      const key = cellKey(cell);
      if (!cells.has(key)) cells.set(key, { cell });
    }
    if (listed < total) cut.set(e, `its lists admit ${total.toLocaleString('en-US')} class combinations; the bound lists ${listed.toLocaleString('en-US')}`);
  }

  const byDim = indexEntries(entries);
  const witnesses: Witness[] = [];
  const unsampled = new Map<string, Set<string>>();
  let stopped = false;
  for (const { cell } of cells.values()) {
    const values = {
      teams: cell.teams === undefined ? undefined : classes.teams.witness(cell.teams),
      keys: cell.keys === undefined ? undefined : classes.keys.witness(cell.keys),
      tags: cell.tags === undefined ? undefined : classes.tags.witness(cell.tags),
    };
    const matched = matchingEntries(byDim, values, cell);
    if (stopped) {
      // Every attachment this unlisted cell matches is not fully enumerated, whichever made the cell first.
      for (const e of matched) if (!cut.has(e)) cut.set(e, `the bound of ${bound.maxWitnesses.toLocaleString('en-US')} witnesses was reached before all its classes`);
      continue;
    }
    const models = modelWitnesses(matched, [old, next], classes.models, unsampled);
    const cellLabel = DIMS.filter((d) => cell[d] !== undefined)
      .map((d) => `${LABEL[d]}=${DimensionClasses.label(cell[d] as ClassKey)}`)
      .join(', ');
    for (const m of models) {
      const label = [cellLabel, m.label === '' ? '' : `model=${m.label}`].filter((s) => s !== '').join(', ') || OTHER_LABEL;
      witnesses.push({
        label,
        cell: cellLabel,
        model: m.label,
        context: { teamAlias: values.teams, keyAlias: values.keys, model: m.model, tags: values.tags === undefined ? [] : [values.tags] },
      });
    }
    if (witnesses.length >= bound.maxWitnesses) stopped = true;
  }

  return {
    witnesses,
    cells: cells.size,
    unlisted: {
      attachments: [...cut].map(([e, reason]) => ({ spec: e.spec, reason })),
      conditions: new Map([...unsampled].map(([p, s]) => [p, [...s]])),
    },
  };
}

/** Both sides' attachments, equal ones once (same policy and lists), in order: old first. */
function collectEntries(snapshots: readonly Snapshot[]): Entry[] {
  const seen = new Set<string>();
  const out: Entry[] = [];
  for (const s of snapshots) {
    for (const spec of s.attachments.specs) {
      const key = attachmentKey(spec);
      if (seen.has(key)) continue;
      seen.add(key);
      const set = (l: readonly string[] | undefined): PatternSet | undefined => (spec.isGlobal || l === undefined ? undefined : compilePatterns(l));
      const sets = { teams: set(spec.teams), keys: set(spec.keys), tags: set(spec.tags), models: set(spec.models) };
      const restricts = DIMS.filter((d) => sets[d] !== undefined && (d === 'tags' || !(sets[d] as PatternSet).isAny));
      out.push({ spec, sets, restricts });
    }
  }
  return out;
}

/** An attachment's identity across sides: its policy and lists (not its position). */
export function attachmentKey(spec: AttachmentSpec): string {
  return JSON.stringify([spec.policy, spec.isGlobal, spec.teams ?? null, spec.keys ?? null, spec.models ?? null, spec.tags ?? null]);
}

function cellKey(cell: Cell): string {
  return DIMS.map((d) => cell[d] ?? '').join('\u0000');
}

function* product(lists: readonly (readonly ClassKey[])[]): Generator<ClassKey[]> {
  const idx = lists.map(() => 0);
  if (lists.some((l) => l.length === 0)) return;
  for (;;) {
    yield idx.map((i, d) => (lists[d] as readonly ClassKey[])[i] as ClassKey);
    let d = lists.length - 1;
    while (d >= 0 && ++(idx[d] as number) >= (lists[d] as readonly ClassKey[]).length) idx[d--] = 0;
    if (d < 0) return;
  }
}

/** Where entries restricting a dimension are found by value: exact values and prefixes. */
interface DimIndex {
  readonly exact: Map<string, Entry[]>;
  readonly prefixes: Map<string, Entry[]>;
  /** Tag lists holding `*`: any tag. */
  readonly any: Entry[];
}

function indexEntries(entries: readonly Entry[]): Record<Dim, DimIndex> & { unrestricted: Entry[] } {
  const make = (): DimIndex => ({ exact: new Map(), prefixes: new Map(), any: [] });
  const out = { teams: make(), keys: make(), tags: make(), unrestricted: [] as Entry[] };
  const push = (m: Map<string, Entry[]>, k: string, e: Entry): void => {
    const l = m.get(k);
    if (l === undefined) m.set(k, [e]);
    else if (l[l.length - 1] !== e) l.push(e);
  };
  for (const e of entries) {
    if (e.restricts.length === 0) {
      out.unrestricted.push(e);
      continue;
    }
    // Indexed under each dimension it restricts; matching checks them all.
    for (const d of e.restricts) {
      const set = e.sets[d] as PatternSet;
      if (set.isAny) out[d].any.push(e);
      for (const v of set.exact) push(out[d].exact, v, e);
      for (const p of set.prefixes) push(out[d].prefixes, p, e);
    }
  }
  return out;
}

/**
 * The entries a cell's witness values match, ignoring the model: for the empty cell the global and
 * model-only ones; otherwise those restricting a dimension the cell sets (the others are the
 * empty cell's, and the witness models are chosen so that they match as few of them as possible).
 */
function matchingEntries(index: ReturnType<typeof indexEntries>, values: Record<Dim, string | undefined>, cell: Cell): Entry[] {
  if (DIMS.every((d) => cell[d] === undefined)) return index.unrestricted;
  const found = new Set<Entry>();
  for (const d of DIMS) {
    const v = values[d];
    if (v === undefined) continue;
    for (const e of index[d].exact.get(v) ?? []) found.add(e);
    for (let i = 0; i <= v.length; i++) for (const e of index[d].prefixes.get(v.slice(0, i)) ?? []) found.add(e);
    for (const e of index[d].any) found.add(e);
  }
  const tags = values.tags === undefined ? [] : [values.tags];
  return [...found].filter(
    (e) =>
      (e.sets.teams === undefined || matchesPatterns(e.sets.teams, values.teams)) &&
      (e.sets.keys === undefined || matchesPatterns(e.sets.keys, values.keys)) &&
      (e.sets.tags === undefined || tags.some((t) => matchesPatterns(e.sets.tags as PatternSet, t))),
  );
}

interface ModelWitness {
  readonly label: string;
  readonly model: string | undefined;
}

/**
 * The model classes within a cell: the model patterns of its entries make coarse classes (a prefix
 * class's witness avoids every longer model prefix of either side, so it matches as few model-only
 * attachments as possible); the conditions of the entries' policies' chains, on both sides, split
 * them further by which conditions hold. With no model pattern and no condition, one witness and
 * the label '' (the model does not matter).
 */
function modelWitnesses(
  entries: readonly Entry[],
  snapshots: readonly Snapshot[],
  global: DimensionClasses,
  unsampled: Map<string, Set<string>>,
): ModelWitness[] {
  const local = new DimensionClasses();
  const conditions = new Map<string, ConditionSpec>();
  for (const e of entries) {
    if (e.sets.models !== undefined && !e.sets.models.isAny) local.add(e.spec.models as readonly string[]);
    for (const s of snapshots) {
      const policy = s.policies.get(e.spec.policy);
      if (policy === undefined) continue;
      for (const name of policy.chain) {
        const c = s.policies.get(name)?.spec.condition;
        if (c === undefined || c.model === null) continue;
        conditions.set(JSON.stringify(c.model), c);
        const missed = conditionSamples(c).unsampled;
        if (missed.length > 0) {
          const set = unsampled.get(e.spec.policy) ?? new Set<string>();
          for (const p of missed) set.add(p);
          unsampled.set(e.spec.policy, set);
        }
      }
    }
  }
  if (local.size === 0 && conditions.size === 0) return [{ label: '', model: undefined }];

  const conds = [...conditions.values()];
  const tests = conds.map(conditionTest);
  const signature = (m: string | undefined): string => tests.map((t) => (t.test(m) ? '1' : '0')).join('');
  const coarse = [OTHER, ...local.classes(), ...(conds.length > 0 ? [MISSING] : [])];
  const byClass = new Map<ClassKey, Map<string, string | undefined>>();
  const add = (cls: ClassKey, model: string | undefined): void => {
    let sigs = byClass.get(cls);
    if (sigs === undefined) byClass.set(cls, (sigs = new Map()));
    const sig = signature(model);
    if (!sigs.has(sig)) sigs.set(sig, model);
  };
  for (const cls of coarse) add(cls, cls === MISSING ? undefined : cls.startsWith('=') ? cls.slice(1) : global.witness(cls));
  for (const c of conds) for (const m of conditionSamples(c).models) add(local.classOf(m), m);

  const out: ModelWitness[] = [];
  const regex = (c: ConditionSpec): string => (typeof c.model === 'string' ? `/${c.model}/` : (c.model as readonly string[]).map((m) => `/${m}/`).join('|'));
  for (const [cls, sigs] of byClass) {
    const base = local.size === 0 && cls === OTHER ? '' : DimensionClasses.label(cls);
    for (const [sig, model] of sigs) {
      if (sigs.size === 1 || cls === MISSING) {
        out.push({ label: DimensionClasses.label(cls), model });
        continue;
      }
      const holding = conds.filter((_, i) => sig[i] === '1').map(regex);
      const condition = holding.length > 0 ? holding.join(' ') : `!${conds.map(regex).join(',')}`;
      out.push({ label: base === '' ? condition : `${base} ${condition}`, model });
    }
  }
  return out;
}
