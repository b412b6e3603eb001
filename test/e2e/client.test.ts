import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient, DEFAULT_ADDRESS, GrpcStatus, PdpClientError, WatchEvent_Kind, type PdpClient, type ResolveResult } from '../../src/client/index.js';
import { pino } from 'pino';
import { readTlsFiles, type TlsMaterial } from '../../src/server/tls.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { waitFor } from '../helpers/watch.js';

// The client against the real server (startApp on 127.0.0.1:0 or a Unix socket), through its
// public interface only. The cache's revision guarantee is tested across real reloads here, and
// the exact "old answer after the new event" race against a scripted server in
// test/client/revision-race.test.ts.

const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;
const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;
const HEALTH_TEAM = { context: { teamAlias: 'health-team', model: 'gpt-4' } };

/** A bundle whose one global policy adds `guardrail`: each name gives its own revision. */
function bundle(guardrail: string): string {
  return `guardrails:
  - guardrail_name: ${guardrail}
    litellm_params: { guardrail: presidio, mode: pre_call }
policies:
  base:
    guardrails: { add: [${guardrail}] }
policy_attachments:
  - { policy: base, scope: "*" }
`;
}

let dir: string;
let s: Started | undefined;
let clients: PdpClient[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-client-'));
  clients = [];
});

afterEach(async () => {
  for (const c of clients) c.close();
  await s?.stop();
  s = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(options?: Parameters<typeof createClient>[0]): PdpClient {
  const c = createClient(options);
  clients.push(c);
  return c;
}

let logs: ReturnType<typeof captureLogs>;

/** Starts the app with every decision logged, so that resolveCount() counts the Resolve RPCs it answered. */
function startCounting(bundlePath: string): Promise<Started> {
  logs = captureLogs();
  return startApp(bundlePath, { log: pino({ level: 'info' }, logs.stream), config: { decisionLogSampleRate: 1 } });
}

function resolveCount(): number {
  return logs.lines().filter((l) => l.rpc === 'Resolve').length;
}

async function rejection(p: Promise<unknown>): Promise<PdpClientError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PdpClientError);
  return e as PdpClientError;
}

describe('resolve and the decision cache', () => {
  it('answers as the server does, and a repeated request from the cache without an RPC', async () => {
    s = await startCounting(EXAMPLE);
    const c = client({ address: s.grpcAddress });
    await c.ready();
    const direct = await callResolve(s.client, { context: { ...HEALTH_TEAM.context, tags: [] } });
    const first = await c.resolve(HEALTH_TEAM);
    expect(first).toEqual({ ...direct, stale: false });
    const rpcs = resolveCount();
    const again = await c.resolve({ context: { model: 'gpt-4', teamAlias: 'health-team', tags: [] }, requestPolicies: [] });
    expect(again).toBe(first); // the same frozen answer
    expect(Object.isFrozen(again.matchedPolicies[0])).toBe(true);
    expect(resolveCount()).toBe(rpcs);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, watching: true, revision: direct.revision });
  });

  it('keeps a missing context value apart from an empty one', async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress });
    await c.ready();
    const missing = await c.resolve({ context: { teamAlias: 'health-team' } });
    const empty = await c.resolve({ context: { teamAlias: 'health-team', model: '' } });
    expect(c.stats()).toMatchObject({ hits: 0, misses: 2, entries: 2 });
    expect(missing).toEqual({ ...(await callResolve(s.client, { context: { teamAlias: 'health-team', tags: [] } })), stale: false });
    expect(empty.revision).toBe(missing.revision);
  });

  it('is bounded by entries, evicting the least recently used', async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, cache: { maxEntries: 2 } });
    await c.ready();
    for (const model of ['a', 'b', 'a', 'c']) await c.resolve({ context: { model } });
    expect(c.stats()).toMatchObject({ entries: 2, hits: 1, misses: 3 });
    await c.resolve({ context: { model: 'a' } }); // kept: used after b
    await c.resolve({ context: { model: 'b' } }); // evicted
    expect(c.stats()).toMatchObject({ hits: 2, misses: 4 });
  });

  it('is bounded by bytes: an answer larger than the bound is not kept', async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, cache: { maxBytes: 3000 } });
    await c.ready();
    await c.resolve({}); // ~250 bytes on the wire, counted ~2.2 KB: kept
    expect(c.stats().entries).toBe(1);
    await c.resolve(HEALTH_TEAM); // ~700 bytes on the wire, counted ~4.9 KB: not kept
    expect(c.stats().entries).toBe(1);
    expect(c.stats().bytes).toBeLessThanOrEqual(3000);
  });

  it('with the cache off, opens no Watch stream and makes one RPC per call', async () => {
    s = await startCounting(EXAMPLE);
    const c = client({ address: s.grpcAddress, cache: false });
    await c.ready();
    const before = resolveCount();
    await c.resolve({});
    await c.resolve({});
    expect(resolveCount()).toBe(before + 2);
    expect(s.app.server.openWatchStreams).toBe(0);
  });
});

describe('the revision guarantee across real reloads', () => {
  it('after a reload, answers from the new revision once its event arrived', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, bundle('g1'));
    s = await startApp(file);
    const c = client({ address: s.grpcAddress });
    await c.ready();
    const old = await c.resolve({});
    expect((await c.resolve({})).guardrails).toEqual(['g1']);
    fs.writeFileSync(file, bundle('g2'));
    await waitFor(() => c.stats().revision !== old.revision, 5000, 'the new revision to reach the client');
    const fresh = await c.resolve({});
    expect(fresh.guardrails).toEqual(['g2']);
    expect(fresh.revision).toBe(c.stats().revision);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('never returns an answer older than the last ACTIVATED event received, under load across 8 reloads', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, bundle('v0'));
    s = await startApp(file);
    // Bundle v<N> adds guardrail v<N>: the version of a revision, recorded as the server activates
    // it (synchronously, before any Watch event about it can reach the client).
    const versionOf = new Map<string, number>([[s.app.holder.current()!.revision, 0]]);
    s.app.activator.subscribe((e) => {
      if (e.kind === 'activated') versionOf.set(e.snapshot.revision, Number([...e.snapshot.guardrails.keys()][0]!.slice(1)));
    });
    const c = client({ address: s.grpcAddress });
    await c.ready();
    const violations: string[] = [];
    let answers = 0;
    let isDone = false;
    const contexts = Array.from({ length: 20 }, (_, i) => ({ context: { teamAlias: `team-${i}`, ...(i % 2 ? { model: 'gpt-4' } : {}) } }));
    const load = async (w: number): Promise<void> => {
      for (let i = w; !isDone; i++) {
        // Cache hits settle without I/O: let the Watch stream and the reloads in between.
        await new Promise((r) => setImmediate(r));
        const r = await c.resolve(contexts[i % contexts.length]!);
        // Read in the same tick as the answer: no event can arrive in between.
        const known = versionOf.get(c.stats().revision)!;
        const answered = Number(r.guardrails[0]!.slice(1));
        answers++;
        if (answered < known) violations.push(`answered v${answered} after the event for v${known} (${r.revision})`);
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => load(w));
    for (let v = 1; v <= 8; v++) {
      await new Promise((r) => setTimeout(r, 40));
      fs.writeFileSync(file, bundle(`v${v}`));
      await waitFor(() => versionOf.get(c.stats().revision) === v, 5000, `the event for v${v} to reach the client`);
    }
    isDone = true;
    await Promise.all(workers);
    expect(violations).toEqual([]);
    expect(answers).toBeGreaterThan(100);
    expect((await c.resolve(contexts[0]!)).guardrails).toEqual(['v8']);
    expect(c.stats().hits).toBeGreaterThan(0);
  });
});

describe('failure behaviour', () => {
  it("failMode 'closed' raises a PdpClientError carrying the gRPC code", async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, deadlineMs: 2000 });
    await c.ready();
    await c.resolve({});
    const bad = await rejection(c.resolve({ requestPolicies: [''] }));
    expect(bad).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, codeName: 'INVALID_ARGUMENT' });
    expect(bad.details).toContain('request_policies[0] is empty');
    await s.stop();
    s = undefined;
    const down = await rejection(c.resolve({}));
    expect(down.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(c.stats().watching).toBe(false);
  });

  it("failMode 'stale' answers a cached request with its last answer, marked stale, and raises for others", async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, failMode: 'stale', deadlineMs: 2000 });
    await c.ready();
    const fresh = await c.resolve(HEALTH_TEAM);
    await s.stop();
    s = undefined;
    const stale = await c.resolve(HEALTH_TEAM);
    expect(stale).toEqual({ ...fresh, stale: true });
    expect((await rejection(c.resolve({ context: { model: 'never-asked' } }))).code).toBe(GrpcStatus.UNAVAILABLE);
    expect(c.stats().staleAnswers).toBe(1);
  });

  it('bypasses the cache while the Watch stream is down, and reconnects to a restarted sidecar on a Unix socket', async () => {
    const socket = path.join(dir, 'pdp.sock');
    const listen = { kind: 'unix', path: socket } as const;
    s = await startApp(EXAMPLE, { listen });
    const c = client({ socketPath: socket, reconnect: { initialMs: 20, maxMs: 200 } });
    await c.ready();
    await c.resolve({});
    await c.resolve({});
    expect(c.stats()).toMatchObject({ hits: 1, watching: true });
    await s.stop();
    await waitFor(() => !c.stats().watching, 5000, 'the Watch stream to go down');
    s = await startApp(EXAMPLE, { listen });
    await c.ready({ timeoutMs: 10_000 });
    expect(c.stats().watching).toBe(true);
    const before = c.stats();
    await c.resolve({});
    expect(c.stats().hits).toBe(before.hits + 1); // the same revision: its answers stayed valid
  });

  it('ready() times out naming the address and the last status when nothing listens', async () => {
    const c = client({ address: '127.0.0.1:1' });
    const e = await rejection(c.ready({ timeoutMs: 300 }));
    expect(e.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(e.message).toMatch(/the sidecar at 127\.0\.0\.1:1 was not ready within 300 ms \(last: /);
  });

  describe('without an address', () => {
    const saved = process.env.GUARDRAIL_PDP_ADDRESS;
    afterEach(() => {
      if (saved === undefined) delete process.env.GUARDRAIL_PDP_ADDRESS;
      else process.env.GUARDRAIL_PDP_ADDRESS = saved;
    });

    it('dials $GUARDRAIL_PDP_ADDRESS, as an injected app container sets it', async () => {
      const socket = path.join(dir, 'pdp.sock');
      s = await startApp(EXAMPLE, { listen: { kind: 'unix', path: socket } });
      process.env.GUARDRAIL_PDP_ADDRESS = `unix://${socket}`;
      const c = client();
      await c.ready();
      expect((await c.resolve(HEALTH_TEAM)).guardrails).toEqual(['hipaa_audit', 'pii_masking', 'prompt_injection']);
    });

    it("dials the injected sidecar's socket when the variable is unset, and names a bad variable", async () => {
      delete process.env.GUARDRAIL_PDP_ADDRESS;
      expect(DEFAULT_ADDRESS).toBe('unix:///var/run/guardrail-pdp/pdp.sock');
      const e = await rejection(client().ready({ timeoutMs: 200 }));
      expect(e.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
      expect(e.message).toContain(`the sidecar at ${DEFAULT_ADDRESS} was not ready`);
      process.env.GUARDRAIL_PDP_ADDRESS = 'pdp.sock';
      expect(() => createClient()).toThrow(
        "createClient: GUARDRAIL_PDP_ADDRESS (no address given) 'pdp.sock' is not host:port, [ipv6]:port or unix:///path",
      );
    });
  });

  it('rejects bad options with INVALID_ARGUMENT naming each problem', () => {
    expect(() => createClient({ address: '127.0.0.1:1', socketPath: '/x', failMode: 'open' as 'closed', deadlineMs: 0 })).toThrow(
      /give one of address or socketPath, not both; deadlineMs must be a number above 0; failMode 'open' is not closed or stale/,
    );
  });
});

describe('executePipeline and watch', () => {
  it('runs a pipeline and raises NOT_FOUND for an unknown policy', async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, cache: false });
    const r = await c.executePipeline({ policyName: 'gpt4-pipeline', messages: [{ role: 'user', content: 'deploy with AKIAIOSFODNN7EXAMPLE' }] });
    expect(r.errorMessage).toBe('Content blocked: aws_access_key pattern detected');
    const e = await rejection(c.executePipeline({ policyName: 'nope', messages: [{ role: 'user', content: 'x' }] }));
    expect(e.code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('watch() yields the current snapshot, then each activation, and cancels its stream when the loop breaks', async () => {
    const file = path.join(dir, 'bundle.yaml');
    fs.writeFileSync(file, bundle('g1'));
    s = await startApp(file);
    const c = client({ address: s.grpcAddress, cache: false });
    const kinds: string[] = [];
    for await (const event of c.watch()) {
      kinds.push(`${WatchEvent_Kind[event.kind]} ${event.policyCount}`);
      if (kinds.length === 1) fs.writeFileSync(file, `${bundle('g2')}  - { policy: base, models: [x] }\n`);
      else break;
    }
    expect(kinds).toEqual(['ACTIVATED 1', 'ACTIVATED 1']);
    await waitFor(() => s!.app.server.openWatchStreams === 0, 5000, 'the stream to close');
  });

  it('watch() ends when its signal aborts', async () => {
    s = await startApp(EXAMPLE);
    const c = client({ address: s.grpcAddress, cache: false });
    const abort = new AbortController();
    const events = [];
    for await (const event of c.watch({ signal: abort.signal })) {
      events.push(event);
      abort.abort();
    }
    expect(events).toHaveLength(1);
  });
});

describe('TLS', () => {
  const pem = (name: string) => readFileSync(path.join(TLS, name));
  function material(clientCa?: string): TlsMaterial {
    const r = readTlsFiles({ certPath: path.join(TLS, 'server.pem'), keyPath: path.join(TLS, 'server.key'), ...(clientCa ? { clientCaPath: path.join(TLS, clientCa) } : {}) });
    return r.material as TlsMaterial;
  }

  it('connects to a TLS sidecar trusting its CA, and to an mTLS one with a client certificate', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material('ca.pem') }, clientCredentials: undefined });
    const withCert = client({ address: s.grpcAddress, tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') } });
    await withCert.ready();
    expect((await withCert.resolve({})).appliedPolicies).toEqual(['global-baseline']);
    const without = client({ address: s.grpcAddress, tls: { ca: pem('ca.pem') }, cache: false });
    expect((await rejection(without.resolve({}))).code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it('checks the certificate against serverName', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material() }, clientCredentials: undefined });
    const port = s.grpcAddress.split(':').at(-1);
    const c = client({ address: `127.0.0.1:${port}`, tls: { ca: pem('ca.pem'), serverName: 'localhost' }, cache: false });
    expect((await c.resolve({})).appliedPolicies).toEqual(['global-baseline']);
    const wrong = client({ address: `127.0.0.1:${port}`, tls: { ca: pem('ca.pem'), serverName: 'example.com' }, cache: false });
    expect((await rejection(wrong.resolve({}))).code).toBe(GrpcStatus.UNAVAILABLE);
  });
});
