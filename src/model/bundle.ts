import type { SourcePosition } from './issue.js';

/** A path into a parsed document: mapping keys and sequence indexes. */
export type DocPath = readonly (string | number)[];

/**
 * What a source yields: the parsed document, where it came from, and a content hash.
 * Not trusted yet: `compile` validates it.
 */
export interface Bundle {
  /** Where it came from: a file path (or db path). */
  readonly origin: string;
  /** sha256 of the raw bytes, hex. Equal hashes mean equal bundles. */
  readonly hash: string;
  /** The parsed document (`guardrails:`, `policies:`, `policy_attachments:`), plain JS values. */
  readonly data: unknown;
  /** Where a node of `data` is in the source, when the source knows (YAML and JSON do). */
  readonly locate: (path: DocPath) => SourcePosition | undefined;
}
