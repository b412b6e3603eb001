import type { ActivationEvent } from '../../activation/activator.js';
import { Issue_Severity, WatchEvent_Kind, type Issue, type WatchEvent } from '../../gen/guardrail/pdp/v1/watch.js';
import type { Issue as ModelIssue } from '../../model/issue.js';
import type { Snapshot } from '../../model/snapshot.js';

/**
 * Most issues one Watch event carries (the first ones; `issue_count` has the total). A bundle
 * with 100,000 issues made a 12 to 21 MB event: a client with the default 4 MiB receive limit
 * lost its stream, and in compat mode every new Watch did (its first event carries the snapshot's
 * warnings). 100 issues are enough to act on; `guardrail-pdp validate` lists them all.
 */
export const MAX_EVENT_ISSUES = 100;
/** Longest string of an issue in an event (message, path, file, rule), in characters. */
export const MAX_ISSUE_TEXT_CHARS = 1024;
/** Longest `message` of an event, in characters. */
export const MAX_EVENT_MESSAGE_CHARS = 4096;

/** Model issue -> proto Issue (line and column stay 0 when unknown; long strings cut, see MAX_ISSUE_TEXT_CHARS). */
export function toIssue(i: ModelIssue): Issue {
  return {
    severity: i.severity === 'error' ? Issue_Severity.ERROR : Issue_Severity.WARNING,
    rule: cut(i.rule, MAX_ISSUE_TEXT_CHARS),
    message: cut(i.message, MAX_ISSUE_TEXT_CHARS),
    file: cut(i.file, MAX_ISSUE_TEXT_CHARS),
    line: Math.max(0, i.line),
    column: Math.max(0, i.column),
    path: cut(i.path, MAX_ISSUE_TEXT_CHARS),
  };
}

/** The Watch event announcing a snapshot: ACTIVATED, with (the first of) its warnings, at `occurredAt`. */
export function toActivatedEvent(s: Snapshot, occurredAt: Date, issues: readonly ModelIssue[]): WatchEvent {
  return { kind: WatchEvent_Kind.ACTIVATED, ...servingFields(s, s.origin), ...issueFields(issues), occurredAt, message: '' };
}

/**
 * Activation event -> Watch event. ACTIVATION_FAILED describes the snapshot that keeps serving
 * (empty revision if none) and carries the first issues of the rejected input, and their count.
 * (An `unchanged` attempt is never sent; it converts like `activated`.)
 */
export function toWatchEvent(e: ActivationEvent): WatchEvent {
  if (e.kind !== 'failed') return toActivatedEvent(e.snapshot, e.at, e.issues);
  return {
    kind: WatchEvent_Kind.ACTIVATION_FAILED,
    ...servingFields(e.serving, e.origin),
    ...issueFields(e.issues),
    occurredAt: e.at,
    message: cut(e.message, MAX_EVENT_MESSAGE_CHARS),
  };
}

function issueFields(issues: readonly ModelIssue[]): Pick<WatchEvent, 'issues' | 'issueCount'> {
  return { issues: issues.slice(0, MAX_EVENT_ISSUES).map(toIssue), issueCount: issues.length };
}

/** `text`, or its first `max - 1` characters and an ellipsis (never splitting a surrogate pair). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return `${text.slice(0, end)}…`;
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
