// Issue 11, defect 11 (logs): the Activator logged a failed activation with every issue in one line,
// a 28 MB log line for 100,000 issues. It now logs the first ones and how many more.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Activator } from '../../src/activation/activator.js';
import { SnapshotHolder } from '../../src/activation/holder.js';
import { PdpError } from '../../src/errors.js';
import type { Issue } from '../../src/model/issue.js';
import type { PolicySource } from '../../src/sources/source.js';
import { bundleFromYaml } from '../helpers/bundle.js';

/** An Activator over `source` whose log lines are kept. */
function logged(source: PolicySource): { activator: Activator; lines: string[] } {
  const lines: string[] = [];
  let pending = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  return { activator: new Activator({ source, holder: new SnapshotHolder(), mode: 'strict', log }), lines };
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('activation log lines (issue 11, defect 11)', () => {
  it('keeps a failure with 100,000 issues to one short line that says how many there are', async () => {
    const issues: Issue[] = Array.from({ length: 100_000 }, (_, i) => ({
      severity: 'error',
      rule: 'invalid_inheritance',
      message: `Parent policy 'ghost-${i}' not found`,
      file: 'big.yaml',
      line: i + 1,
      column: 5,
      path: `policies.p${i}.inherit`,
    }));
    const source: PolicySource = {
      origin: 'big.yaml',
      load: async () => {
        throw new PdpError('BUNDLE_INVALID', 'bundle big.yaml has 100000 error(s); not activated', { issues });
      },
    };
    const { activator, lines } = logged(source);
    const event = await activator.activate();
    await flush();
    expect(event.kind === 'failed' && event.issues.length).toBe(100_000);
    expect(lines).toHaveLength(1);
    expect((lines[0] as string).length).toBeLessThan(16 * 1024);
    const line = JSON.parse(lines[0] as string) as { issueCount: number; issuesOmitted: number; issues: Issue[] };
    expect(line.issueCount).toBe(100_000);
    expect(line.issuesOmitted).toBe(100_000 - line.issues.length);
    expect(line.issues[0]).toEqual(issues[0]);
  });

  it('logs the first warnings of an activation and a count of the rest', async () => {
    const attachments = Array.from({ length: 500 }, (_, i) => `  - {policy: ghost-${i}, teams: [t${i}]}`).join('\n');
    const bundle = bundleFromYaml(`policies: {a: {guardrails: [x]}}\npolicy_attachments:\n${attachments}\n`);
    const { activator, lines } = logged({ origin: 'test.yaml', load: async () => bundle });
    const event = await activator.activate();
    await flush();
    expect(event.kind).toBe('activated');
    expect(event.issues.length).toBeGreaterThanOrEqual(500);
    expect(lines.length).toBeLessThan(40);
    const last = JSON.parse(lines.at(-1) as string) as { warningsOmitted: number; msg: string };
    expect(last.warningsOmitted).toBeGreaterThan(400);
    expect(last.msg).toContain('guardrail-pdp validate lists them all');
  });
});
