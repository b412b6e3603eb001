/**
 * A trie from string prefixes to ids: `collect(value)` visits the ids of every stored prefix of
 * `value` (including "" and `value` itself) by walking `value` once, so lookup cost depends on the
 * value's length, not on how many prefixes are stored.
 */
export class PrefixTrie {
  readonly #root: TrieNode = { children: undefined, ids: undefined };

  /** Stores `id` under `prefix`. */
  add(prefix: string, id: number): void {
    let node = this.#root;
    for (let i = 0; i < prefix.length; i++) {
      const ch = prefix.charCodeAt(i);
      node.children ??= new Map();
      let next = node.children.get(ch);
      if (next === undefined) {
        next = { children: undefined, ids: undefined };
        node.children.set(ch, next);
      }
      node = next;
    }
    (node.ids ??= []).push(id);
  }

  /** Calls `visit` with each id stored under a prefix of `value`. */
  collect(value: string, visit: (id: number) => void): void {
    let node: TrieNode | undefined = this.#root;
    for (let i = 0; node !== undefined; i++) {
      if (node.ids !== undefined) for (const id of node.ids) visit(id);
      if (i === value.length || node.children === undefined) return;
      node = node.children.get(value.charCodeAt(i));
    }
  }
}

interface TrieNode {
  children: Map<number, TrieNode> | undefined;
  ids: number[] | undefined;
}
