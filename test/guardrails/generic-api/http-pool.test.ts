import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HttpPool } from '../../../src/guardrails/generic-api/http-pool.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// Serves a bundle from the built app in a fresh process and reports whether undici was loaded.
const probe = (bundle: string): boolean => {
  const script = `
    import { createRequire } from 'node:module';
    const { createApp } = await import(${JSON.stringify(join(root, 'dist/app.js'))});
    const app = createApp({ source: { kind: 'bundle', path: ${JSON.stringify(bundle)} }, mode: 'strict',
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent', shutdownGraceMs: 1000, debounceMs: 50, decisionLogSampleRate: 0, maxInFlight: 100 });
    await app.start();
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/undici/'));
    await app.stop();
    process.stdout.write(String(loaded));`;
  const file = join(mkdtempSync(join(tmpdir(), 'pdp-undici-')), 'probe.mjs');
  writeFileSync(file, script);
  return execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' }) === 'true';
};

describe('HttpPool', () => {
  it('leaves undici unloaded when no bundle guardrail calls HTTP, and loads it for one that does', () => {
    expect(probe('test/fixtures/bundles/litellm-spec/bundle.yaml')).toBe(false);
    expect(probe('test/fixtures/bundles/http-guardrail/bundle.yaml')).toBe(true);
  });

  it('creates its dispatcher once, on first use, and closes cleanly whether used or not', async () => {
    const unused = new HttpPool();
    await unused.close();
    const pool = new HttpPool();
    expect(pool.dispatcher).toBe(pool.dispatcher);
    await pool.close();
  });
});
