/**
 * Finds which of many keywords occur in a text, in one pass: an Aho-Corasick automaton over UTF-16
 * code units. A scan costs time linear in the text (plus the keywords found), however many
 * keywords there are. Matching is exact: callers fold case themselves (the content filter
 * lower-cases both sides, as LiteLLM does).
 */
export interface KeywordMatcher {
  /** How many keywords it was built from (indexes run from 0). */
  readonly size: number;
  /**
   * The smallest keyword index `>= minIndex` whose keyword occurs in `text` as a substring, or -1.
   * Keywords that are empty never occur.
   */
  firstPresent(text: string, minIndex?: number): number;
  /** Every keyword index that occurs in `text`, ascending. */
  allPresent(text: string): number[];
}

const ROOT = 0;
const NONE = -1;
// Up to this many table cells (states x distinct characters, 4 bytes each) the automaton is a dense
// table, one array read per character; beyond it, per-state maps with failure links (slower, smaller).
const MAX_DENSE_CELLS = 1 << 21;

type Children = (Map<number, number> | undefined)[];

/**
 * Builds the automaton for `keywords` (index = position in the list; a duplicate keyword reports
 * its first index). Build time and memory are linear in the keywords' total length.
 */
export function createKeywordMatcher(keywords: readonly string[]): KeywordMatcher {
  const { children, output } = buildTrie(keywords);
  const { fail, dictLink, order } = linkFailures(children, output);
  // The first node on each state's failure chain (itself included) that ends a keyword.
  const firstOut = Int32Array.from(output, (o, s) => (o !== NONE ? s : (dictLink[s] as number)));
  const step = createStep(children, fail, order);
  // Per scan, output nodes already reported: their dictionary chains were walked then too.
  const seen = new Uint32Array(children.length);
  let scanId = 0;

  const scan = (text: string, onFound: (index: number) => boolean): void => {
    scanId = (scanId + 1) >>> 0;
    if (scanId === 0) {
      seen.fill(0);
      scanId = 1;
    }
    let state = ROOT;
    for (let i = 0; i < text.length; i++) {
      state = step(state, text.charCodeAt(i));
      let o = firstOut[state] as number;
      while (o !== NONE && seen[o] !== scanId) {
        seen[o] = scanId;
        if (onFound(output[o] as number)) return;
        o = dictLink[o] as number;
      }
    }
  };

  return Object.freeze({
    size: keywords.length,
    firstPresent(text: string, minIndex = 0): number {
      let best = NONE;
      scan(text, (index) => {
        if (index >= minIndex && (best === NONE || index < best)) best = index;
        return best === minIndex;
      });
      return best;
    },
    allPresent(text: string): number[] {
      const found: number[] = [];
      scan(text, (index) => {
        found.push(index);
        return false;
      });
      return found.sort((a, b) => a - b);
    },
  });
}

function buildTrie(keywords: readonly string[]): { children: Children; output: Int32Array } {
  const children: Children = [undefined];
  const outputs: number[] = [NONE];
  keywords.forEach((keyword, index) => {
    if (keyword === '') return;
    let node = ROOT;
    for (let i = 0; i < keyword.length; i++) {
      const c = keyword.charCodeAt(i);
      const edges = children[node] ?? (children[node] = new Map());
      let next = edges.get(c);
      if (next === undefined) {
        next = children.length;
        edges.set(c, next);
        children.push(undefined);
        outputs.push(NONE);
      }
      node = next;
    }
    if (outputs[node] === NONE) outputs[node] = index;
  });
  return { children, output: Int32Array.from(outputs) };
}

/** Breadth-first failure links; for each node the nearest node on its failure chain that ends a keyword; the BFS order. */
function linkFailures(children: Children, output: Int32Array): { fail: Int32Array; dictLink: Int32Array; order: number[] } {
  const fail = new Int32Array(children.length);
  const dictLink = new Int32Array(children.length).fill(NONE);
  const order: number[] = [ROOT, ...(children[ROOT]?.values() ?? [])];
  for (let head = 1; head < order.length; head++) {
    const node = order[head] as number;
    const f = fail[node] as number;
    dictLink[node] = output[f] !== NONE ? f : (dictLink[f] as number);
    for (const [c, child] of children[node] ?? []) {
      let s = f;
      let target = children[s]?.get(c);
      while (target === undefined && s !== ROOT) {
        s = fail[s] as number;
        target = children[s]?.get(c);
      }
      fail[child] = target ?? ROOT;
      order.push(child);
    }
  }
  return { fail, dictLink, order };
}

/** The transition function: a dense table over the keywords' characters when it fits, else trie maps plus failure links. */
function createStep(children: Children, fail: Int32Array, order: readonly number[]): (state: number, c: number) => number {
  // Character classes: 0 for characters no keyword contains (they always lead back to the root).
  const asciiClass = new Uint16Array(128);
  const otherClass = new Map<number, number>();
  let classes = 1;
  for (const edges of children) {
    for (const c of edges?.keys() ?? []) {
      if (c < 128) {
        if (asciiClass[c] === 0) asciiClass[c] = classes++;
      } else if (!otherClass.has(c)) otherClass.set(c, classes++);
    }
  }
  if (children.length * classes > MAX_DENSE_CELLS) {
    return (state, c) => {
      let s = state;
      let next = children[s]?.get(c);
      while (next === undefined && s !== ROOT) {
        s = fail[s] as number;
        next = children[s]?.get(c);
      }
      return next ?? ROOT;
    };
  }
  const classOf = (c: number): number => (c < 128 ? (asciiClass[c] as number) : (otherClass.get(c) ?? 0));
  const delta = new Int32Array(children.length * classes);
  // BFS order: a state's failure target is filled in before the state itself.
  for (const s of order) {
    const base = s * classes;
    const failBase = (fail[s] as number) * classes;
    for (let k = 1; k < classes; k++) delta[base + k] = s === ROOT ? 0 : (delta[failBase + k] as number);
    for (const [c, child] of children[s] ?? []) delta[base + classOf(c)] = child;
  }
  return (state, c) => delta[state * classes + classOf(c)] as number;
}
