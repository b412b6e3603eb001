import { describe, expect, it } from 'vitest';
import type { ActivationEvent } from '../../../src/activation/activator.js';
import { PdpError } from '../../../src/errors.js';
import { WatchEvent, WatchEvent_Kind } from '../../../src/gen/guardrail/pdp/v1/watch.js';
import type { Issue } from '../../../src/model/issue.js';
import { MAX_EVENT_ISSUES, MAX_EVENT_MESSAGE_CHARS, MAX_ISSUE_TEXT_CHARS, toActivatedEvent, toWatchEvent } from '../../../src/server/convert/watch-event.js';
import { snapshotOf } from '../../helpers/snapshot.js';

const issue = (i: number, name = `p${i}`): Issue => ({
  severity: 'error',
  rule: 'invalid_inheritance',
  message: "Parent policy 'missing' not found",
  file: '/etc/pdp/bundle.yaml',
  line: i + 2,
  column: 14,
  path: `policies.${name}.inherit`,
});

const failed = (issues: readonly Issue[], message = 'bundle has errors; not activated'): ActivationEvent => ({
  kind: 'failed',
  origin: '/etc/pdp/bundle.yaml',
  error: new PdpError('BUNDLE_INVALID', message),
  message,
  issues,
  serving: undefined,
  at: new Date(0),
  durationMs: 1,
  loadMs: 1,
});

describe('Watch events are bounded', () => {
  it('carries the first MAX_EVENT_ISSUES issues, in order, and the total count', () => {
    const issues = Array.from({ length: 100_000 }, (_, i) => issue(i));
    const event = toWatchEvent(failed(issues));
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATION_FAILED);
    expect(event.issues).toHaveLength(MAX_EVENT_ISSUES);
    expect(event.issues.map((i) => i.line)).toEqual(issues.slice(0, MAX_EVENT_ISSUES).map((i) => i.line));
    expect(event.issueCount).toBe(100_000);
    expect(WatchEvent.encode(event).finish().length).toBeLessThan(16 * 1024);
  });

  it('cuts long strings, never splitting a surrogate pair, so one event stays small whatever the bundle holds', () => {
    const long = `${'a'.repeat(MAX_ISSUE_TEXT_CHARS - 2)}😀${'b'.repeat(100_000)}`;
    const event = toWatchEvent(failed(Array.from({ length: 500 }, (_, i) => issue(i, long)), 'x'.repeat(100_000)));
    const path = event.issues[0]!.path;
    expect(path.length).toBeLessThanOrEqual(MAX_ISSUE_TEXT_CHARS);
    expect(path.endsWith('a…')).toBe(true); // the emoji would have been cut in half: dropped whole
    expect(event.message).toHaveLength(MAX_EVENT_MESSAGE_CHARS);
    expect(WatchEvent.encode(event).finish().length).toBeLessThan(MAX_EVENT_ISSUES * (MAX_ISSUE_TEXT_CHARS + 200) + MAX_EVENT_MESSAGE_CHARS + 1024);
  });

  it('bounds the warnings of an ACTIVATED event the same way, and counts them', () => {
    const snapshot = snapshotOf('policies:\n  a: { guardrails: { add: [g] } }\n');
    const event = toActivatedEvent(snapshot, new Date(0), Array.from({ length: 150 }, (_, i) => ({ ...issue(i), severity: 'warning' as const })));
    expect(event.issues).toHaveLength(MAX_EVENT_ISSUES);
    expect(event.issueCount).toBe(150);
    expect(toActivatedEvent(snapshot, new Date(0), []).issueCount).toBe(0);
  });
});
