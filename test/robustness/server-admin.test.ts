// Issue 11, defect 10: the admin listener (pod IP, no authentication, the decision API's event
// loop). Before the fix every /metrics request rendered every series (400 scrapes per second
// raised Resolve's p99 tenfold) and pdp_snapshot_info showed the bundle's path to anyone on the
// cluster network. Now /metrics is rendered at most once a second, at most 10 scrapes a second
// are answered (then 429 with Retry-After), probes are never refused, and no label holds a path.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callResolve, startApp, type Started } from '../helpers/app.js';

const SECRET_DIR = 'secret-bundle-location-5d1e';

let s: Started;
let bundlePath: string;
beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pdp-admin-')), SECRET_DIR);
  mkdirSync(dir);
  bundlePath = join(dir, 'bundle.yaml');
  writeFileSync(bundlePath, 'policies:\n  a: { guardrails: { add: [g] } }\npolicy_attachments:\n  - { policy: a, scope: "*" }\n');
  s = await startApp(bundlePath);
});
afterAll(async () => {
  await s?.stop();
});

describe('the admin listener (robustness)', () => {
  it('does not show the bundle path in /metrics', async () => {
    const text = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    expect(text).toMatch(/^pdp_snapshot_info\{revision="[0-9a-f]{16}"\} 1$/m);
    expect(text).not.toContain(SECRET_DIR);
    expect(text).not.toContain(bundlePath);
  });

  it('refuses a scrape flood with 429 and Retry-After, serving one rendering per second, and never refuses a probe', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // a new window, past the first test's scrape
    const started = performance.now();
    const first = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    await callResolve(s.client, {}); // counted, but not shown until the next rendering
    const answers = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const res = await fetch(`http://${s.adminAddress}/metrics`);
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      }),
    );
    const elapsed = performance.now() - started;
    const probes = await Promise.all([fetch(`http://${s.adminAddress}/healthz`), fetch(`http://${s.adminAddress}/readyz`)]);
    expect(probes.map((p) => p.status)).toEqual([200, 200]);
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(served.length + refused.length).toBe(60);
    expect(served.length + 1).toBeLessThanOrEqual(10 * Math.ceil(elapsed / 1000)); // before: all 61 served
    expect(refused.every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    if (elapsed < 1000) for (const a of served) expect(a.body).toBe(first); // one rendering per second
  });
});
