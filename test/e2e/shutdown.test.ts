import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { Action } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthClient, type HealthCheckResponse } from '../../src/gen/health/v1/health.js';
import { callExecutePipeline, callResolve } from '../helpers/app.js';
import { MAIN } from '../helpers/cli.js';
import { openWatch, waitFor } from '../helpers/watch.js';

/** A Generic Guardrail API: /slow allows after one second, /hang never answers. */
async function vendor(): Promise<{ base: string; server: Server; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    req.resume().on('end', () => {
      if (req.url?.startsWith('/hang/')) return;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"NONE"}'), 1000);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received: () => received };
}

interface Serving {
  readonly child: ChildProcessWithoutNullStreams;
  readonly address: string;
  readonly client: DecisionServiceClient;
  /** Log lines so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The exit code (null if killed by a signal). */
  readonly exited: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** Spawns `guardrail-pdp serve` (the built CLI) on a bundle and waits until it listens. */
async function serve(base: string, graceMs: number): Promise<Serving> {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-sigterm-')), 'bundle.yaml');
  writeFileSync(
    path,
    `guardrails:
  - { guardrail_name: slow, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/slow" } }
  - { guardrail_name: hang, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/hang", timeout: 600 } }
policies:
  slow-pipeline: { guardrails: { add: [slow] }, pipeline: { steps: [{ guardrail: slow, on_pass: allow }] } }
  hang-pipeline: { guardrails: { add: [hang] }, pipeline: { steps: [{ guardrail: hang, on_pass: allow }] } }
`,
  );
  const args = [MAIN, 'serve', '--bundle', path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--shutdown-grace-ms', String(graceMs)];
  const child = spawn(process.execPath, args, { env: { ...process.env, PDP_LOG_LEVEL: 'info' } });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(() => logs.some((l) => l['msg'] === 'decision API listening') || child.exitCode !== null, 15_000, 'the server to listen');
  const address = logs.find((l) => l['msg'] === 'decision API listening')?.['address'] as string;
  const client = new DecisionServiceClient(address, credentials.createInsecure());
  clients.push(client);
  return { child, address, client, logs, exited };
}

/** Opens grpc.health.v1 Watch('') and records every status it reports. */
function watchHealth(address: string): ServingStatus[] {
  const health = new HealthClient(address, credentials.createInsecure());
  clients.push(health);
  const seen: ServingStatus[] = [];
  const call = health.watch({ service: '' });
  call.on('data', (r: HealthCheckResponse) => seen.push(r.status));
  call.on('error', () => {});
  return seen;
}

const user = (content: string) => ({ role: 'user', content });

describe('SIGTERM', () => {
  it('goes NOT_SERVING, refuses new calls, finishes the call in flight, ends Watch with OK and exits 0', async () => {
    const v = await vendor();
    servers.push(v.server);
    const s = await serve(v.base, 10_000);
    const health = watchHealth(s.address);
    const watch = openWatch(s.client);
    await watch.nextEvent();
    await waitFor(() => health.at(-1) === ServingStatus.SERVING, 5000, 'health SERVING');

    const inFlight = callExecutePipeline(s.client, { policyName: 'slow-pipeline', messages: [user('hi')] });
    await waitFor(() => v.received() === 1, 10_000, 'the slow guardrail call');
    const signalledAt = Date.now();
    s.child.kill('SIGTERM');

    await waitFor(() => health.at(-1) === ServingStatus.NOT_SERVING, 5000, 'health NOT_SERVING');
    const late = new DecisionServiceClient(s.address, credentials.createInsecure());
    clients.push(late);
    const refused = (await callResolve(late, {}).catch((e: unknown) => e)) as ServiceError;
    expect(refused.code).toBe(status.UNAVAILABLE);

    expect((await inFlight).terminalAction).toBe(Action.ALLOW);
    expect(await watch.ended).toBeNull(); // ended with status OK
    expect(await s.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000); // within the grace period
    const phases = s.logs.map((l) => l['msg']);
    const order = [
      'signal received: shutting down gracefully',
      'shutdown: health NOT_SERVING',
      'shutdown: not accepting new calls; waiting for calls in flight',
      'shutdown: calls in flight finished',
      'shutdown: Watch streams ended',
      'stopped',
    ];
    expect(phases.filter((m) => order.includes(m as string))).toEqual(order);
  });

  it('cancels what is still running when the grace period ends, and still exits 0', async () => {
    const v = await vendor();
    servers.push(v.server);
    const s = await serve(v.base, 500);
    const inFlight = callExecutePipeline(s.client, { policyName: 'hang-pipeline', messages: [user('hi')] }).catch((e: ServiceError) => e);
    await waitFor(() => v.received() === 1, 10_000, 'the hanging guardrail call');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    const cut = await inFlight;
    expect(cut).toMatchObject({ code: status.CANCELLED }); // cut off by forceShutdown, not answered
    expect(s.logs.map((l) => l['msg'])).toContain('shutdown: grace period over with calls in flight');
  });

  it('exits at once, non-zero, on a second signal', async () => {
    const v = await vendor();
    servers.push(v.server);
    const s = await serve(v.base, 60_000);
    void callExecutePipeline(s.client, { policyName: 'hang-pipeline', messages: [user('hi')] }).catch(() => undefined);
    await waitFor(() => v.received() === 1, 10_000, 'the hanging guardrail call');
    s.child.kill('SIGTERM');
    await waitFor(() => s.logs.some((l) => l['msg'] === 'shutdown: health NOT_SERVING'), 5000, 'the shutdown to begin');
    const secondAt = Date.now();
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(1);
    expect(Date.now() - secondAt).toBeLessThan(10_000); // not the 60 s grace period
  });
});
