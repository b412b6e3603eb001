// Issue 11, defect 11 (memory): a 1.4 MB YAML reload peaked at 249 MB RSS (292 MiB measured here),
// over the shipped 256 Mi container limit: the loader thread had no memory limit. serve now gives it
// --loader-heap-mb (default 96), and a load that needs more fails cleanly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ActivationEvent } from '../../src/activation/activator.js';
import { DEFAULTS, loadServeConfig } from '../../src/cli/config.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';

// bench/synthetic.mjs is plain JavaScript without declarations: imported by a computed specifier.
const { syntheticBundleData } = (await import(new URL('../../bench/synthetic.mjs', import.meta.url).href)) as {
  syntheticBundleData: (attachments: number) => unknown;
};

let dir: string;
let app: Started | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-robust-loader-'));
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the loader thread memory limit (issue 11, defect 11)', () => {
  it('is on by default for serve, at 96 MB, and can be raised', () => {
    expect(loadServeConfig({ bundle: 'b.yaml' }, {}).loaderHeapMb).toBe(96);
    expect(DEFAULTS.loaderHeapMb).toBe(96);
    expect(loadServeConfig({ bundle: 'b.yaml' }, { PDP_LOADER_HEAP_MB: '512' }).loaderHeapMb).toBe(512);
  });

  it('fails a 1.3 MB YAML reload cleanly, naming the limit, and the last good snapshot keeps serving', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, 'policies: {base: {guardrails: [pii]}}\npolicy_attachments: [{policy: base, scope: "*"}]\n');
    app = await startApp(file, { config: { debounceMs: 50, loaderHeapMb: DEFAULTS.loaderHeapMb } });
    const events: ActivationEvent[] = [];
    app.app.activator.subscribe((e) => events.push(e));
    // 7,000 policies and 14,000 attachments: the size of the report's 1.4 MB bundle.
    const yaml = stringify(syntheticBundleData(14_000));
    expect(yaml.length).toBeGreaterThan(1_300_000);
    fs.writeFileSync(`${file}.tmp`, yaml);
    fs.renameSync(`${file}.tmp`, file);
    const deadline = Date.now() + 15_000;
    while (events.length === 0) {
      if (Date.now() > deadline) throw new Error('no activation event within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const event = events[0] as ActivationEvent;
    expect(event.kind).toBe('failed');
    if (event.kind !== 'failed') return;
    expect(event.error.code).toBe('BUNDLE_INVALID');
    expect(event.message).toContain('needs more than the 96 MB of heap a loader thread may use (--loader-heap-mb)');
    expect(event.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'invalid_bundle', file })]);
    const answer = await callResolve(app.client, { context: { teamAlias: 't', keyAlias: '', model: '', tags: [] } });
    expect(answer.guardrails).toEqual(['pii']);
  });
});
