import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Action, ExecutePipelineRequest } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { HealthClient } from '../../src/gen/health/v1/health.js';
import { callExecutePipeline, callResolve, startApp, type Started } from '../helpers/app.js';
import { rawUnary } from '../helpers/raw-grpc.js';
import { waitFor } from '../helpers/watch.js';

/** A Generic Guardrail API that allows everything, one second after each request arrives. */
async function slowGuardrail(): Promise<{ base: string; server: Server; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    req.resume().on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"NONE"}'), 1000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received: () => received };
}

const user = (content: string) => ({ role: 'user', content });

let s: Started;
let vendor: Awaited<ReturnType<typeof slowGuardrail>>;
beforeEach(async () => {
  vendor = await slowGuardrail();
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-overload-')), 'bundle.yaml');
  writeFileSync(
    path,
    `guardrails:
  - { guardrail_name: slow, litellm_params: { guardrail: generic_guardrail_api, api_base: "${vendor.base}" } }
policies:
  slow-pipeline: { guardrails: { add: [slow] }, pipeline: { steps: [{ guardrail: slow, on_pass: allow }] } }
`,
  );
  s = await startApp(path, { config: { maxInFlight: 2 } });
});
afterEach(async () => {
  await s.stop();
  vendor.server.closeAllConnections();
  vendor.server.close();
});

describe('overload', () => {
  it('refuses calls beyond --max-in-flight with RESOURCE_EXHAUSTED, and admits them again after', async () => {
    const slow = [1, 2].map(() => callExecutePipeline(s.client, { policyName: 'slow-pipeline', messages: [user('hi')] }));
    await waitFor(() => vendor.received() === 2, 10_000, 'both slow calls to reach the guardrail');

    const over = (await callExecutePipeline(s.client, { policyName: 'slow-pipeline', messages: [user('hi')] }).catch((e: unknown) => e)) as ServiceError;
    expect(over.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(over.details).toContain('limit of 2 calls in flight');
    const resolveOver = (await callResolve(s.client, {}).catch((e: unknown) => e)) as ServiceError;
    expect(resolveOver.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(vendor.received()).toBe(2);

    // Health probes are never shed.
    const health = new HealthClient(s.grpcAddress, credentials.createInsecure());
    const probe = await new Promise<unknown>((resolve, reject) => health.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))));
    health.close();
    expect(probe).toBeDefined();

    for (const res of await Promise.all(slow)) expect(res.terminalAction).toBe(Action.ALLOW);
    expect((await callResolve(s.client, {})).revision).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers DEADLINE_EXCEEDED without doing the work when the deadline passed before the call started', async () => {
    const request = ExecutePipelineRequest.encode({
      policyName: 'slow-pipeline',
      mode: 0,
      messages: [user('hi')],
      context: undefined,
      requestId: 'r1',
    }).finish();
    const res = await rawUnary(s.grpcAddress, '/guardrail.pdp.v1.DecisionService/ExecutePipeline', request, { 'grpc-timeout': '0n' });
    expect(res.code).toBe(status.DEADLINE_EXCEEDED);
    expect(res.details).toContain('deadline passed before the call started');
    expect(vendor.received()).toBe(0);
    // The same request with time left does the work.
    const ok = await rawUnary(s.grpcAddress, '/guardrail.pdp.v1.DecisionService/ExecutePipeline', request, { 'grpc-timeout': '30S' });
    expect(ok.code).toBe(status.OK);
    expect(vendor.received()).toBe(1);
  });

  it('counts a call that grpc-js ends on its deadline before the message arrives, and frees its slot', async () => {
    // Headers with a 50 ms deadline and no message: grpc-js's deadline timer ends the call before
    // any handler could run; the metrics still see it, and it no longer holds a slot of the cap.
    const code = await new Promise<number>((resolve, reject) => {
      const session = connect(`http://${s.grpcAddress}`);
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': '/guardrail.pdp.v1.DecisionService/Resolve', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '50m' });
      // A trailers-only answer: the status comes with the response headers.
      req.on('response', (h) => {
        req.close();
        session.close();
        resolve(Number(h['grpc-status']));
      });
    });
    expect(code).toBe(status.DEADLINE_EXCEEDED);
    const labels = 'grpc_type="unary",grpc_service="guardrail.pdp.v1.DecisionService",grpc_method="Resolve"';
    await waitFor(() => s.app.server.callsInFlight === 0, 5000, 'the expired call to leave the cap');
    const text = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    expect(text).toContain(`grpc_server_started_total{${labels}} 1`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="DEADLINE_EXCEEDED"} 1`);
  });

  it('caps concurrent streams per connection at 512, so a burst queues at its client instead of inside the server', async () => {
    const session = connect(`http://${s.grpcAddress}`);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve, reject) => {
      session.on('error', reject);
      session.once('remoteSettings', resolve);
    });
    session.close();
    expect(settings.maxConcurrentStreams).toBe(512);
  });
});
