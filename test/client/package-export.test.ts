import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// A gateway installs the package and imports `guardrail-pdp/client`: package.json's `exports` must
// lead there, to the built code (vitest's global setup builds dist/) and its type declarations.
const ROOT = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pdp-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the package's client export", () => {
  it("resolves 'guardrail-pdp/client' from an installed package to the built client and its types", async () => {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'guardrail-pdp'), 'dir');
    const script =
      "const m = await import('guardrail-pdp/client');" +
      "const c = m.createClient({ address: '127.0.0.1:1', cache: false });" +
      'c.close();' +
      "console.log(JSON.stringify({ keys: Object.keys(m).sort(), where: import.meta.resolve('guardrail-pdp/client') }));";
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: dir }, (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout))),
    );
    const { keys, where } = JSON.parse(out) as { keys: string[]; where: string };
    expect(keys).toEqual(expect.arrayContaining(['createClient', 'PdpClientError', 'GrpcStatus', 'WatchEvent_Kind', 'Action']));
    expect(where).toMatch(/\/dist\/client\/index\.js$/);
    expect(existsSync(join(ROOT, 'dist/client/index.d.ts'))).toBe(true);
  });
});
