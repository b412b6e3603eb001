// Issue 11, defect 3: Watch events are bounded. Before the fix an event carried every issue: a
// bundle with 100,000 issues made a 12 to 21 MB ACTIVATION_FAILED event, so a client with the
// default 4 MiB receive limit lost its stream, and in compat mode (warnings instead of errors)
// every new Watch failed the same way, its first event carrying the snapshot's warnings.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchEvent, WatchEvent_Kind } from '../../src/gen/guardrail/pdp/v1/watch.js';
import { startApp, type Started } from '../helpers/app.js';
import { openWatch } from '../helpers/watch.js';

/** Issues in the bundle below, and how many of them one event carries (docs/api.md). */
const ISSUES = 12_000;
const CARRIED = 100;

/**
 * A bundle with ISSUES policies, each inheriting from a policy that does not exist (an error in
 * strict mode, a warning in compat mode). Long names make each issue about 450 bytes on the wire,
 * so all of them would take over 5 MB: more than a default client accepts.
 */
function manyIssues(): string {
  const lines = ['policies:'];
  for (let i = 0; i < ISSUES; i++) lines.push(`  ${'p'.repeat(300)}${i}: { inherit: missing }`);
  return `${lines.join('\n')}\n`;
}

let s: Started | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe('Watch events (robustness)', () => {
  it('keeps a default client (4 MiB limit) on its stream through a reload with thousands of issues', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-watch-bounds-'));
    const path = join(dir, 'bundle.yaml');
    writeFileSync(path, 'policies:\n  a: { guardrails: { add: [g] } }\n');
    s = await startApp(path);
    const watch = openWatch(s.client); // the generated client with grpc-js defaults
    const first = await watch.nextEvent();
    writeFileSync(join(dir, 'next.yaml'), manyIssues());
    renameSync(join(dir, 'next.yaml'), path);
    const failed = await watch.nextEvent(15_000); // before: the stream ended with RESOURCE_EXHAUSTED
    expect(failed.kind).toBe(WatchEvent_Kind.ACTIVATION_FAILED);
    expect(failed.revision).toBe(first.revision);
    expect(failed.issues).toHaveLength(CARRIED);
    expect(failed.issueCount).toBe(ISSUES);
    expect(WatchEvent.encode(failed).finish().length).toBeLessThan(128 * 1024);
    // Still subscribed: the next good bundle arrives on the same stream.
    writeFileSync(join(dir, 'next.yaml'), 'policies:\n  b: { guardrails: { add: [g] } }\n');
    renameSync(join(dir, 'next.yaml'), path);
    expect((await watch.nextEvent(15_000)).kind).toBe(WatchEvent_Kind.ACTIVATED);
    watch.cancel();
  });

  it('in compat mode, gives every new Watch its first event although the snapshot has thousands of warnings', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pdp-watch-bounds-')), 'bundle.yaml');
    writeFileSync(path, manyIssues());
    s = await startApp(path, { mode: 'compat' });
    for (let i = 0; i < 3; i++) {
      const watch = openWatch(s.client);
      const first = await watch.nextEvent(); // before: every new Watch failed with RESOURCE_EXHAUSTED
      expect(first.kind).toBe(WatchEvent_Kind.ACTIVATED);
      expect(first.issues).toHaveLength(CARRIED);
      expect(first.issueCount).toBeGreaterThanOrEqual(ISSUES);
      watch.cancel();
    }
  });
});
