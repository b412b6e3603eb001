import type { ActivationEvent } from '../../activation/activator.js';
import { Issue_Severity, WatchEvent_Kind, type Issue, type WatchEvent } from '../../gen/guardrail/pdp/v1/watch.js';
import type { Issue as ModelIssue } from '../../model/issue.js';
import type { Snapshot } from '../../model/snapshot.js';

/** Model issue -> proto Issue (line and column stay 0 when unknown). */
export function toIssue(i: ModelIssue): Issue {
  return {
    severity: i.severity === 'error' ? Issue_Severity.ERROR : Issue_Severity.WARNING,
    rule: i.rule,
    message: i.message,
    file: i.file,
    line: Math.max(0, i.line),
    column: Math.max(0, i.column),
    path: i.path,
  };
}

/** The Watch event announcing a snapshot: ACTIVATED, with its warnings, at `occurredAt`. */
export function toActivatedEvent(s: Snapshot, occurredAt: Date, issues: readonly ModelIssue[]): WatchEvent {
  return { kind: WatchEvent_Kind.ACTIVATED, ...servingFields(s, s.origin), issues: issues.map(toIssue), occurredAt, message: '' };
}

/**
 * Activation event -> Watch event. ACTIVATION_FAILED describes the snapshot that keeps serving
 * (empty revision if none) and carries every issue of the rejected input. (An `unchanged` attempt
 * is never sent; it converts like `activated`.)
 */
export function toWatchEvent(e: ActivationEvent): WatchEvent {
  if (e.kind !== 'failed') return toActivatedEvent(e.snapshot, e.at, e.issues);
  return {
    kind: WatchEvent_Kind.ACTIVATION_FAILED,
    ...servingFields(e.serving, e.origin),
    issues: e.issues.map(toIssue),
    occurredAt: e.at,
    message: e.message,
  };
}

function servingFields(
  s: Snapshot | undefined,
  origin: string,
): Pick<WatchEvent, 'revision' | 'origin' | 'loadedAt' | 'policyCount' | 'attachmentCount'> {
  return {
    revision: s?.revision ?? '',
    origin: s?.origin ?? origin,
    loadedAt: s?.loadedAt,
    policyCount: s?.policies.size ?? 0,
    attachmentCount: s?.attachments.size ?? 0,
  };
}
