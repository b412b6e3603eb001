import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleFromYaml } from '../helpers/bundle.js';
import { Activator } from '../../src/activation/activator.js';
import { SnapshotHolder } from '../../src/activation/holder.js';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { Action } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, type HealthCheckResponse } from '../../src/gen/health/v1/health.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { PdpServer } from '../../src/server/grpc.js';
import { callExecutePipeline, callResolve, startApp, type Started } from '../helpers/app.js';
import { openWatch, waitFor } from '../helpers/watch.js';

const log = pino({ level: 'silent' });
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function healthCheck(address: string): Promise<ServingStatus> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise<ServingStatus>((resolve, reject) =>
    client.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r.status))),
  ).finally(() => client.close());
}

/** A Generic Guardrail API that holds every answer until `release()`. */
async function gatedGuardrail(): Promise<{ base: string; received: () => number; release: () => void }> {
  const held: ServerResponse[] = [];
  let received = 0;
  let isReleased = false;
  const answer = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"NONE"}');
  const server: Server = createServer((req, res) => {
    req.resume().on('end', () => {
      received++;
      if (isReleased) answer(res);
      else held.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    release: () => {
      isReleased = true;
      for (const res of held.splice(0)) answer(res);
    },
  };
}

describe('PdpServer health', () => {
  it('reports NOT_SERVING before the first activation and SERVING after it', async () => {
    const holder = new SnapshotHolder();
    const source = { origin: 'test.yaml', load: async () => bundleFromYaml('policies: {}\n') };
    const activator = new Activator({ source, holder, mode: 'strict', log });
    const server = new PdpServer({
      holder,
      log,
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      events: activator,
      metrics: createMetrics(),
    });
    const address = await server.start();
    cleanup.push(() => server.stop(100));
    expect(await healthCheck(address)).toBe(ServingStatus.NOT_SERVING);
    const client = new DecisionServiceClient(address, credentials.createInsecure());
    cleanup.push(() => client.close());
    const err = (await callResolve(client, {}).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect((await activator.activate()).kind).toBe('activated');
    expect(await healthCheck(address)).toBe(ServingStatus.SERVING);
  });

  it('refuses to listen on a non-loopback address without TLS unless allowed', async () => {
    const opts = {
      holder: new SnapshotHolder(),
      log,
      listen: { kind: 'tcp' as const, host: '0.0.0.0', port: 0 },
      events: { subscribe: () => () => undefined },
      metrics: createMetrics(),
    };
    await expect(new PdpServer(opts).start()).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('not a loopback address') });
    const allowed = new PdpServer({ ...opts, isInsecureListenAllowed: true });
    expect(await allowed.start()).toMatch(/^0\.0\.0\.0:\d+$/);
    await allowed.stop(100);
  });
});

describe('PdpServer shutdown', () => {
  let s: Started;

  it('goes NOT_SERVING, refuses new calls, finishes calls in flight, then ends Watch streams with OK', async () => {
    const vendor = await gatedGuardrail();
    const dir = mkdtempSync(join(tmpdir(), 'pdp-shutdown-'));
    const bundle = join(dir, 'bundle.yaml');
    writeFileSync(
      bundle,
      `guardrails:
  - { guardrail_name: gate, litellm_params: { guardrail: generic_guardrail_api, api_base: "${vendor.base}", timeout: 60 } }
policies:
  gated: { guardrails: { add: [gate] }, pipeline: { steps: [{ guardrail: gate, on_pass: allow }] } }
`,
    );
    s = await startApp(bundle, { config: { shutdownGraceMs: 30_000 } });
    cleanup.push(() => s.client.close());
    const health = new HealthClient(s.grpcAddress, credentials.createInsecure());
    cleanup.push(() => health.close());
    const healthWatch = health.watch({ service: '' });
    const healthSeen: ServingStatus[] = [];
    healthWatch.on('data', (r: HealthCheckResponse) => healthSeen.push(r.status));
    const healthEnded = new Promise<number>((resolve) => healthWatch.on('status', (x: { code: number }) => resolve(x.code)));
    healthWatch.on('error', () => {});
    const watch = openWatch(s.client);
    await watch.nextEvent();

    const inFlight = callExecutePipeline(s.client, { policyName: 'gated', messages: [{ role: 'user', content: 'hi' }] });
    await waitFor(() => vendor.received() === 1, 10_000, 'the guardrail call');
    let isStopped = false;
    const stopped = s.app.stop().then(() => (isStopped = true));

    await waitFor(() => healthSeen.at(-1) === ServingStatus.NOT_SERVING, 5000, 'health NOT_SERVING');
    // A new client cannot reach the server any more.
    const late = new DecisionServiceClient(s.grpcAddress, credentials.createInsecure());
    const refused = (await callResolve(late, {}).catch((e: unknown) => e)) as ServiceError;
    late.close();
    expect(refused.code).toBe(status.UNAVAILABLE);
    // Not ready on the admin listener either, so the pod leaves its Service's endpoints.
    expect((await fetch(`http://${s.adminAddress}/readyz`)).status).toBe(503);
    // The call in flight is still running, so the Watch streams are still open.
    expect(s.app.server.openWatchStreams).toBe(1);
    expect(isStopped).toBe(false);

    vendor.release();
    expect((await inFlight).terminalAction).toBe(Action.ALLOW);
    expect(await watch.ended).toBeNull(); // status OK
    expect(await healthEnded).toBe(status.OK);
    await stopped;
    expect(healthSeen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
});
