import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer, MAX_SCRAPES_PER_WINDOW, METRICS_CACHE_MS } from '../../src/metrics/http.js';

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** An admin server over a registry with one counter, on a clock the test moves, counting renderings. */
async function start(): Promise<{ base: string; counter: Counter; renders: () => number; advance: (ms: number) => void }> {
  const registry = new Registry();
  const counter = new Counter({ name: 'test_total', help: 'test', registers: [registry] });
  let renders = 0;
  const metrics = registry.metrics.bind(registry);
  registry.metrics = () => (renders++, metrics());
  let now = 1_000;
  server = new AdminServer({ host: '127.0.0.1', port: 0, registry, isReady: () => true, log: pino({ level: 'silent' }), now: () => now });
  const base = `http://${await server.start()}`;
  return { base, counter, renders: () => renders, advance: (ms) => (now += ms) };
}

describe('AdminServer /metrics', () => {
  it('renders at most once per METRICS_CACHE_MS and serves that text meanwhile', async () => {
    const { base, counter, renders, advance } = await start();
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('test_total 0');
    counter.inc();
    advance(METRICS_CACHE_MS - 1);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('test_total 0');
    expect(renders()).toBe(1);
    advance(1);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('test_total 1');
    expect(renders()).toBe(2);
  });

  it('answers at most MAX_SCRAPES_PER_WINDOW scrapes per window, then 429 with Retry-After; probes never', async () => {
    const { base, advance } = await start();
    const codes = [];
    for (let i = 0; i < MAX_SCRAPES_PER_WINDOW + 5; i++) codes.push((await fetch(`${base}/metrics`)).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(MAX_SCRAPES_PER_WINDOW);
    const refused = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    advance(METRICS_CACHE_MS);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});
