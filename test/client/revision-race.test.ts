import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient, type PdpClient } from '../../src/client/index.js';
import { DecisionServiceService } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { ResolveResponse, type ResolveRequest } from '../../src/gen/guardrail/pdp/v1/resolve.js';
import { WatchEvent, WatchEvent_Kind, type WatchRequest } from '../../src/gen/guardrail/pdp/v1/watch.js';
import { waitFor } from '../helpers/watch.js';

// The cache's revision rule against a scripted server, where the test decides when each answer
// and each Watch event goes out, so the races a real reload only makes likely happen every time.
// (The same guarantee across real reloads: test/e2e/client.test.ts.)

interface Held {
  readonly request: ResolveRequest;
  answer(revision: string): void;
}

/** A DecisionService whose Resolve answers wait for the test, and whose Watch events the test sends. */
class ScriptedServer {
  readonly server = new Server();
  readonly held: Held[] = [];
  watch: ServerWritableStream<WatchRequest, WatchEvent> | undefined;
  address = '';

  async start(): Promise<void> {
    this.server.addService(DecisionServiceService, {
      resolve: (call: ServerUnaryCall<ResolveRequest, ResolveResponse>, done: sendUnaryData<ResolveResponse>) => {
        this.held.push({
          request: call.request,
          answer: (revision) => done(null, ResolveResponse.fromPartial({ guardrails: [`from-${revision}`], revision })),
        });
      },
      executePipeline: (_call: unknown, done: sendUnaryData<never>) => done({ code: status.UNIMPLEMENTED }),
      watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
        this.watch = call;
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  activate(revision: string): void {
    this.watch?.write(WatchEvent.fromPartial({ kind: WatchEvent_Kind.ACTIVATED, revision }));
  }

  /** The next held Resolve call, once it has arrived. */
  async nextHeld(): Promise<Held> {
    await waitFor(() => this.held.length > 0, 5000, 'a Resolve call to arrive');
    return this.held.shift() as Held;
  }
}

let server: ScriptedServer;
let client: PdpClient;

beforeEach(async () => {
  server = new ScriptedServer();
  await server.start();
  client = createClient({ address: server.address, deadlineMs: 5000 });
  await waitFor(() => server.watch !== undefined, 5000, 'the Watch stream to open');
  server.activate('r1');
  await waitFor(() => client.stats().revision === 'r1', 5000, 'r1 to reach the client');
});

afterEach(async () => {
  client.close();
  server.server.forceShutdown();
});

describe('an answer racing an ACTIVATED event', () => {
  it('is not returned nor cached when it comes from the revision before the event: the call is made again', async () => {
    const pending = client.resolve({ context: { model: 'm' } });
    const first = await server.nextHeld();
    server.activate('r2');
    await waitFor(() => client.stats().revision === 'r2', 5000, 'r2 to reach the client');
    first.answer('r1'); // answered by the old snapshot, arriving after the event
    const retry = await server.nextHeld();
    expect(retry.request.context?.model).toBe('m');
    retry.answer('r2');
    const result = await pending;
    expect(result.revision).toBe('r2');
    expect(client.stats()).toMatchObject({ retries: 1, entries: 1 });
    expect(await client.resolve({ context: { model: 'm' } })).toBe(result); // cached as r2
  });

  it('is returned and cached when it carries the revision of the event that arrived meanwhile', async () => {
    const pending = client.resolve({});
    const held = await server.nextHeld();
    server.activate('r2');
    await waitFor(() => client.stats().revision === 'r2', 5000, 'r2 to reach the client');
    held.answer('r2');
    expect((await pending).revision).toBe('r2');
    expect(client.stats()).toMatchObject({ retries: 0, entries: 1 });
  });

  it('is returned, not cached, when it comes from a revision whose event has not arrived yet', async () => {
    const pending = client.resolve({});
    (await server.nextHeld()).answer('r3');
    expect((await pending).revision).toBe('r3');
    expect(client.stats().entries).toBe(0);
  });
});

describe('invalidation', () => {
  it('drops the answers of the previous revision on an ACTIVATED event', async () => {
    const pending = client.resolve({});
    (await server.nextHeld()).answer('r1');
    await pending;
    expect(await client.resolve({})).toMatchObject({ revision: 'r1' });
    expect(client.stats()).toMatchObject({ hits: 1, entries: 1 });
    server.activate('r2');
    await waitFor(() => client.stats().revision === 'r2', 5000, 'r2 to reach the client');
    expect(client.stats().entries).toBe(0);
    const again = client.resolve({});
    (await server.nextHeld()).answer('r2');
    expect((await again).revision).toBe('r2');
  });

  it('bypasses the cache while the Watch stream is down: every call is an RPC', async () => {
    const pending = client.resolve({});
    (await server.nextHeld()).answer('r1');
    await pending;
    server.watch?.emit('error', { code: status.UNAVAILABLE, details: 'scripted failure' });
    server.watch = undefined;
    await waitFor(() => !client.stats().watching, 5000, 'the stream to be down');
    const bypassed = client.resolve({});
    (await server.nextHeld()).answer('r1');
    expect((await bypassed).revision).toBe('r1');
    expect(client.stats()).toMatchObject({ hits: 0, misses: 2 });
    // It reopens the stream; once the first event arrives, the cache is used again.
    await waitFor(() => server.watch !== undefined, 5000, 'the stream to reopen');
    server.activate('r1');
    await waitFor(() => client.stats().watching, 5000, 'the stream to be up');
    expect((await client.resolve({})).revision).toBe('r1');
    expect(client.stats().hits).toBe(1);
  });
});
