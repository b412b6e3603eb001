import type { SourcePosition } from './issue.js';

/** A path into a parsed document: mapping keys and sequence indexes. */
export type DocPath = readonly (string | number)[];

/**
 * A mapping key as the source wrote it: what the plain `data` cannot show.
 * More than one position means a duplicate key, of which PyYAML (and `data`) keep the last value.
 */
export interface SourceKey {
  /** The key as it appears in `data` (non-string keys are stringified: `123`, `true`, ``). */
  readonly name: string;
  /** False when the source reads the key as a number, boolean, null, date or collection, not a string. */
  readonly isString: boolean;
  /** The key as written, e.g. `on` or `123`. */
  readonly source: string;
  /** Every occurrence of the key in this mapping, in document order. */
  readonly positions: readonly SourcePosition[];
}

/** A key given more than once in one mapping. */
export interface DuplicateKey {
  /** The path of the key: its mapping's path plus the key's name. */
  readonly path: DocPath;
  /** Every occurrence, in document order. */
  readonly positions: readonly SourcePosition[];
}

/**
 * A file a bundle names, as its source read it (sources/referenced-files.ts): parsed YAML or JSON
 * data, or why it could not be read. `shown` is how messages name it (the path as the bundle
 * wrote it, or a built-in category's file). `path` is the file the source read (absolute; unset
 * when the name was refused unread), and `fingerprint` what it found there (its bytes' hash, or the
 * read error): the source watches `path` and reloads when the fingerprint changes.
 */
export type BundleFile = {
  readonly shown: string;
  readonly path: string | undefined;
  readonly fingerprint: string;
} & (
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly problem: 'outside' | 'missing' | 'unreadable' | 'unparseable'; readonly message: string }
);

/**
 * The files a bundle names, by key (the functions below): a content filter's `blocked_words_file`
 * and `category_file` paths as written, and LiteLLM built-in categories by name (read from
 * --content-filter-categories). A key that is absent was not
 * read: a built-in category without that directory.
 */
export type BundleFiles = ReadonlyMap<string, BundleFile>;

/** The key of a content filter's `blocked_words_file` in BundleFiles. */
export const wordsFileKey = (path: string): string => `file:${path}`;
/** The key of a content filter category's `category_file` in BundleFiles. */
export const categoryFileKey = (path: string): string => `category_file:${path}`;
/** The key of a LiteLLM built-in category (by name, or a category file's `inherit_from`) in BundleFiles. */
export const builtinCategoryKey = (name: string): string => `category:${name}`;

/**
 * What a source yields: the parsed document, where it came from, and a content hash.
 * Not trusted yet: `compile` validates it.
 */
export interface Bundle {
  /** Where it came from: a file path (or db path). */
  readonly origin: string;
  /**
   * sha256, hex, of the content (a file's bytes; a db's rows as canonical JSON), and of every file
   * it names when it names any. Equal hashes mean equal bundles.
   */
  readonly hash: string;
  /** The files the bundle names (see BundleFiles); absent or empty when it names none. */
  readonly files?: BundleFiles;
  /** The parsed document (`guardrails:`, `policies:`, `policy_attachments:`), plain JS values. */
  readonly data: unknown;
  /** Where a node of `data` is in the source, when the source knows (YAML and JSON do). */
  readonly locate: (path: DocPath) => SourcePosition | undefined;
  /**
   * The keys of the mapping at `path`, in document order (first occurrence), as the source wrote them.
   * Undefined when the source cannot tell (it has no document, e.g. a db) or there is no mapping there.
   */
  readonly keysAt: (path: DocPath) => readonly SourceKey[] | undefined;
  /** Every key given more than once in one mapping, anywhere in the document; empty when none or the source cannot tell. */
  readonly duplicateKeys: readonly DuplicateKey[];
}
