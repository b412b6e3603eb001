// Issue 11, defect 11 (signals): a SIGTERM during the startup activation killed the process at once
// (Node's default), without the ordered shutdown: serve now handles signals from its start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAIN } from '../helpers/cli.js';

// bench/synthetic.mjs is plain JavaScript without declarations: imported by a computed specifier.
const { syntheticBundleData } = (await import(new URL('../../bench/synthetic.mjs', import.meta.url).href)) as {
  syntheticBundleData: (attachments: number) => unknown;
};

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-robust-signal-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a signal during the startup activation (issue 11, defect 11)', () => {
  it('gets the ordered shutdown and exit 0, and nothing starts listening', async () => {
    // 50,000 policies as JSON: loading and compiling takes seconds, long enough to be interrupted.
    const bundle = path.join(dir, 'bundle.json');
    fs.writeFileSync(bundle, JSON.stringify(syntheticBundleData(100_000)));
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--bundle', bundle, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
      { env: { ...process.env, PDP_LOG_LEVEL: 'info', PDP_LOADER_HEAP_MB: '1024' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // Once serve handles signals (its first log line), while the loader thread is at work.
    for (const started = Date.now(); !out.includes('starting: signals handled') && Date.now() - started < 15_000; ) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain('starting: signals handled');
    expect(out).not.toContain('snapshot activated');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const messages = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('signal received: shutting down gracefully');
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('stopped');
    expect(messages.some((m) => m.includes('listening'))).toBe(false);
  });
});
