import type { RequestContext } from './decision.js';
import type { CompiledGuardrail } from './guardrail.js';
import type { Issue } from './issue.js';
import type { AttachmentSpec, PolicySpec, PolicyVersionSpec, ValidationMode } from './policy.js';

/** A policy compiled for the hot path. */
export interface CompiledPolicy {
  readonly name: string;
  readonly spec: PolicySpec;
  /** Root first, ending with the policy itself (§4: a missing parent ends it; a cycle stops at the first revisited name). */
  readonly chain: readonly string[];
  /** Whether the policy's own condition holds for this model (no condition: always). */
  readonly appliesTo: (model: string | undefined) => boolean;
  /**
   * The guardrails after walking the chain root to leaf for this model: a member whose condition
   * fails is skipped (adds and removes), its descendants still apply. Sorted and frozen.
   */
  readonly guardrailsFor: (model: string | undefined) => readonly string[];
}

/** One matching attachment, with LiteLLM's attribution string (§5). */
export interface AttachmentMatch {
  readonly attachment: AttachmentSpec;
  readonly matchedVia: string;
}

/** The compiled attachment index: finds matching attachments without scanning all of them. */
export interface AttachmentIndex {
  /** Number of attachments indexed. */
  readonly size: number;
  /** The attachments as configured, in attachment order (for tools that reason about patterns, e.g. `diff`). Frozen. */
  readonly specs: readonly AttachmentSpec[];
  /**
   * The attachments matching the context, in attachment order, only the first per policy name
   * (§3), including attachments that name undefined policies.
   */
  match(context: RequestContext): readonly AttachmentMatch[];
}

/** The compiled, frozen, versioned unit the hot path reads. */
export interface Snapshot {
  /** Derived from the bundle's content hash and the validation mode. */
  readonly revision: string;
  readonly origin: string;
  readonly loadedAt: Date;
  readonly mode: ValidationMode;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  readonly attachments: AttachmentIndex;
  /** By guardrail_name, compiled at activation (a bad guardrail config is an activation issue). */
  readonly guardrails: ReadonlyMap<string, CompiledGuardrail>;
  /** Draft and published versions by policy_id (db sources); empty for bundle files. */
  readonly versions: ReadonlyMap<string, PolicyVersionSpec>;
  /**
   * The policies with these versions in place of their same-named policies (later ids win), as
   * LiteLLM's per-request merged registry (§9): descendants inherit from the version. Memoized.
   */
  readonly withVersions: (versionIds: readonly string[]) => ReadonlyMap<string, CompiledPolicy>;
  /** Non-blocking issues found while compiling (e.g. unknown keys). */
  readonly warnings: readonly Issue[];
}
