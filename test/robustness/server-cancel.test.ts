// Issue 11, defect 2: a cancelled ExecutePipeline must stop its work (its HTTP requests included)
// and count against --max-in-flight until that work has really ended. Before the fix, 2,000 calls
// cancelled after 30 ms against a hanging vendor left 1,398 vendor connections open (until the
// guardrail's timeout), file descriptors grew from 23 to 1,423, and pdp_calls_in_flight read 0.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotHolder } from '../../src/activation/holder.js';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import type { ExecutePipelineRequest } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { createMetrics } from '../../src/metrics/registry.js';
import type { GuardrailCheck } from '../../src/model/guardrail.js';
import { PdpServer } from '../../src/server/grpc.js';
import { callResolve, startApp } from '../helpers/app.js';
import { fakeGuardrail, snapshotWithGuardrails } from '../helpers/pipeline.js';
import { waitFor } from '../helpers/watch.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/**
 * A Generic Guardrail API that never answers. It counts the requests it got and those still open
 * (their connection not closed by the client). Idle keep-alive connections (undici opens a fresh
 * one after each aborted request and keeps it for reuse) are not requests and are not counted.
 */
async function hangingVendor(): Promise<{ base: string; requests: () => number; openRequests: () => number }> {
  let requests = 0;
  let openRequests = 0;
  const server: Server = createServer((req) => {
    requests++;
    openRequests++;
    req.socket.once('close', () => openRequests--);
  });
  // The client went: close our side too (Node's server keeps it half-open while an answer is pending).
  server.on('connection', (socket) => socket.on('end', () => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, openRequests: () => openRequests };
}

function request(partial: Partial<ExecutePipelineRequest>): ExecutePipelineRequest {
  return { mode: 0, messages: [{ role: 'user', content: 'hello' }], context: undefined, requestId: '', ...partial };
}

/** Starts ExecutePipeline; `cancel()` cancels it, `code` is the status the client saw. */
function startCall(client: DecisionServiceClient, req: ExecutePipelineRequest): { cancel: () => void; code: Promise<number> } {
  let cancel = (): void => undefined;
  const code = new Promise<number>((resolve) => {
    const call = client.executePipeline(req, (err: ServiceError | null) => resolve(err?.code ?? status.OK));
    cancel = () => call.cancel();
  });
  return { cancel, code };
}

/** A bundle whose policy p runs one step calling the vendor at `base` (60 s timeout), with `stepExtra` in the step. */
function bundleCalling(base: string, stepExtra: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-cancel-')), 'bundle.yaml');
  writeFileSync(
    path,
    `guardrails:
  - { guardrail_name: hang, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}", timeout: 60 } }
policies:
  p: { guardrails: { add: [hang] }, pipeline: { steps: [{ guardrail: hang${stepExtra} }] } }
`,
  );
  return path;
}

const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe('cancelled ExecutePipeline calls (robustness)', () => {
  it('cancel their vendor requests at once instead of at the guardrail timeout', async () => {
    const vendor = await hangingVendor();
    const s = await startApp(bundleCalling(vendor.base, ''));
    cleanup.push(() => s.stop());
    await callResolve(s.client, {}); // connected
    const fdsBefore = fdCount();
    const codes: number[] = [];
    for (let batch = 1; batch <= 5; batch++) {
      const calls = Array.from({ length: 100 }, () => startCall(s.client, request({ policyName: 'p' })));
      await waitFor(() => vendor.requests() >= batch * 100, 5000, 'the requests to reach the vendor');
      for (const call of calls) call.cancel();
      codes.push(...(await Promise.all(calls.map((c) => c.code))));
    }
    expect(codes.every((c) => c === status.CANCELLED)).toBe(true);
    // Before: every request stayed open until the guardrail's 60 s timeout, and the calls were not counted.
    await waitFor(() => vendor.openRequests() === 0, 3000, 'the vendor requests to be cancelled');
    await waitFor(() => s.app.server.callsInFlight === 0, 2000, 'no call in flight');
    // What is left is the keep-alive pool's idle connections, bounded by the concurrency (100), not the 500 calls.
    expect(fdCount()).toBeLessThan(fdsBefore + 2 * 2 * 100 + 20);
    // A cancelled step is not a guardrail error.
    const metrics = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    expect(metrics).not.toMatch(/^pdp_pipeline_steps_total\{[^}]*outcome="error"[^}]*\} [1-9]/m);
  });

  it('keeps counting against --max-in-flight until the work of a cancelled call has ended', async () => {
    // A check that ignores its abort signal and ends 400 ms after it starts.
    let checksRunning = 0;
    const stubborn: GuardrailCheck = () => {
      checksRunning++;
      return new Promise((resolve) => setTimeout(() => (checksRunning--, resolve({ outcome: 'pass' })), 400));
    };
    const holder = new SnapshotHolder();
    holder.swap(snapshotWithGuardrails([fakeGuardrail('slow', stubborn, { timeoutMs: 10_000 })]));
    const server = new PdpServer({
      holder,
      log: pino({ level: 'silent' }),
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      events: { subscribe: () => () => undefined },
      metrics: createMetrics(),
      maxInFlight: 1,
    });
    const address = await server.start();
    const client = new DecisionServiceClient(address, credentials.createInsecure());
    cleanup.push(() => server.stop(100), () => client.close());
    await callResolve(client, {}); // connected

    const inline = request({ pipeline: { mode: 0, steps: [{ guardrail: 'slow', onPass: 0, onFail: 0, onError: 0, passData: false, timeoutMs: 0 }] } });
    const call = startCall(client, inline);
    await waitFor(() => checksRunning === 1, 2000, 'the check to start');
    call.cancel();
    expect(await call.code).toBe(status.CANCELLED);
    await new Promise((r) => setTimeout(r, 20)); // the cancellation reaches the server
    expect(checksRunning).toBe(1);
    expect(server.callsInFlight).toBe(1); // before: 0, while the check still ran
    const refused = (await callResolve(client, {}).catch((e: unknown) => e)) as ServiceError;
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    await waitFor(() => checksRunning === 0, 2000, 'the check to end');
    await waitFor(() => server.callsInFlight === 0, 1000, 'the slot to be released');
    expect((await callResolve(client, {})).revision).toBe(holder.current()?.revision);
  });

  it('stop at the deadline too (as before): no vendor request outlives the deadline', async () => {
    const vendor = await hangingVendor();
    const s = await startApp(bundleCalling(vendor.base, ', on_error: allow'));
    cleanup.push(() => s.stop());
    await callResolve(s.client, {}); // connected, so the server's deadline is the client's (see docs/api.md)
    const answers = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<number>((resolve) =>
            s.client.executePipeline(request({ policyName: 'p' }), new Metadata(), { deadline: Date.now() + 400 }, (err, res) =>
              resolve(err?.code ?? res.terminalAction),
            ),
          ),
      ),
    );
    // ALLOW (the step's on_error) before the deadline; on a busy machine the answer can still be late.
    for (const a of answers) expect([1, status.DEADLINE_EXCEEDED]).toContain(a);
    expect(vendor.requests()).toBe(10);
    await waitFor(() => vendor.openRequests() === 0, 2000, 'the vendor requests to be cancelled');
  });
});
