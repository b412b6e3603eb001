import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotHolder } from '../../../src/activation/holder.js';
import { DecisionServiceClient } from '../../../src/gen/guardrail/pdp/v1/decision_service.js';
import type { ResolveRequest, ResolveResponse } from '../../../src/gen/guardrail/pdp/v1/resolve.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { createDecisionLog } from '../../../src/server/handlers/decision-log.js';
import { ResolveMemo } from '../../../src/server/handlers/resolve-memo.js';
import { PdpServer, type PdpServerOptions } from '../../../src/server/grpc.js';
import { callResolve } from '../../helpers/app.js';
import { rawUnary } from '../../helpers/raw-grpc.js';
import { snapshotOf } from '../../helpers/snapshot.js';

const EXAMPLE = readFileSync(new URL('../../../examples/bundle.yaml', import.meta.url), 'utf8');
const log = pino({ level: 'silent' });
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A real PdpServer on 127.0.0.1:0 serving `holder`, and a real client. */
async function serve(holder: SnapshotHolder, opts: Partial<PdpServerOptions> = {}) {
  const server = new PdpServer({
    holder,
    log,
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    events: { subscribe: () => () => undefined },
    metrics: createMetrics(),
    ...opts,
  });
  const address = await server.start();
  const client = new DecisionServiceClient(address, credentials.createInsecure());
  cleanup.push(() => server.stop(100), () => client.close());
  return { server, client, address };
}

/** Requests that exercise every part of an answer: attachments, conditions, named policies, pipelines. */
const REQUESTS: Partial<ResolveRequest>[] = [
  {},
  { context: { teamAlias: 'health-team', model: 'gpt-4', tags: [] } },
  { context: { teamAlias: 'health-team', model: 'claude-3-opus', tags: ['beta'] } },
  { context: { keyAlias: 'ci-key', model: 'gpt-4o', tags: ['internal', 'beta'] } },
  { context: { tags: [] }, requestPolicies: ['strict-mode'] },
  { context: { model: 'gpt-4', tags: [] }, keyPolicies: ['strict-mode'], teamPolicies: ['no-such-policy'] },
];

describe('the Resolve memo', () => {
  it('answers exactly as the server without a memo, on first and repeated calls', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const memo = await serve(holder);
    const plain = await serve(holder, { resolveMemo: { maxEntries: 0 } });
    for (const request of REQUESTS) {
      const expected = await callResolve(plain.client, request);
      expect(await callResolve(memo.client, request)).toEqual(expected); // computed
      expect(await callResolve(memo.client, request)).toEqual(expected); // computed again, stored (second miss)
      expect(await callResolve(memo.client, request)).toEqual(expected); // memoized
    }
    expect(memo.server.resolveMemoSize).toBe(REQUESTS.length);
    expect(plain.server.resolveMemoSize).toBe(0);
  });

  it('starts empty for a new snapshot, so no answer of an old revision is served', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf('guardrails: [{ guardrail_name: a, litellm_params: { guardrail: presidio } }]\npolicies: { p: { guardrails: { add: [a] } } }\npolicy_attachments: [{ policy: p, scope: "*" }]\n'));
    const { server, client } = await serve(holder);
    const first = await callResolve(client, {});
    expect(await callResolve(client, {})).toEqual(first);
    expect(server.resolveMemoSize).toBe(1);
    holder.swap(snapshotOf('guardrails: [{ guardrail_name: b, litellm_params: { guardrail: presidio } }]\npolicies: { p: { guardrails: { add: [b] } } }\npolicy_attachments: [{ policy: p, scope: "*" }]\n'));
    expect(server.resolveMemoSize).toBe(0);
    const second = await callResolve(client, {});
    expect(second.revision).not.toBe(first.revision);
    expect(first.guardrails).toEqual(['a']);
    expect(second.guardrails).toEqual(['b']);
  });

  it('holds at most maxEntries answers and still answers every request correctly', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const { server, client } = await serve(holder, { resolveMemo: { maxEntries: 2 } });
    const plain = await serve(holder, { resolveMemo: { maxEntries: 0 } });
    const answers = new Map<number, ResolveResponse>();
    for (let round = 0; round < 2; round++)
      for (const [i, request] of REQUESTS.entries()) {
        const res = await callResolve(client, request);
        if (round === 0) answers.set(i, await callResolve(plain.client, request));
        expect(res).toEqual(answers.get(i));
        expect(server.resolveMemoSize).toBeLessThanOrEqual(2);
      }
    expect(server.resolveMemoSize).toBe(2);
  });

  it('holds no more bytes than maxBytes', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const { server, client } = await serve(holder, { resolveMemo: { maxBytes: 1 } });
    const res = await callResolve(client, REQUESTS[1] ?? {});
    expect(res.guardrails.length).toBeGreaterThan(0);
    expect(server.resolveMemoSize).toBe(0); // one answer alone is larger than the budget
  });

  it('lets the decision log see every decision, memoized ones included', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => void (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
    const logger = pino({ level: 'info' }, sink);
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const { server, client } = await serve(holder, { decisionLog: createDecisionLog({ log: logger, sampleRate: 1 }) });
    const request = REQUESTS[1] ?? {};
    for (let i = 0; i < 3; i++) await callResolve(client, request);
    expect(server.resolveMemoSize).toBe(1);
    const decisions = lines.filter((l) => l['msg'] === 'decision' && l['rpc'] === 'Resolve');
    expect(decisions).toHaveLength(3);
    for (const d of decisions)
      expect(d).toMatchObject({ teamAlias: 'health-team', model: 'gpt-4', appliedPolicies: ['global-baseline', 'healthcare-compliance', 'gpt4-pipeline'] });
  });

  it('never memoizes a refused request: it is checked, and refused, every time', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const { server, client } = await serve(holder);
    for (let i = 0; i < 2; i++) {
      const err = (await callResolve(client, { requestPolicies: [''] }).catch((e: unknown) => e)) as ServiceError;
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain('request_policies[0]');
    }
    expect(server.resolveMemoSize).toBe(0);
  });

  it('refuses bytes that are not a ResolveRequest with INVALID_ARGUMENT, and never memoizes them', async () => {
    const holder = new SnapshotHolder();
    holder.swap(snapshotOf(EXAMPLE));
    const { server, address } = await serve(holder);
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]); // field 1, length far past the end
    for (let i = 0; i < 2; i++) {
      const res = await rawUnary(address, '/guardrail.pdp.v1.DecisionService/Resolve', garbage);
      expect(res.code).toBe(status.INVALID_ARGUMENT);
      expect(res.details).toBe('the request is not a valid guardrail.pdp.v1.ResolveRequest: context: a length over 2 GiB at byte 1');
    }
    expect(server.resolveMemoSize).toBe(0);
  });
});

describe('ResolveMemo', () => {
  const entry = (n: number) => ({ bytes: Buffer.alloc(n), logged: undefined });

  it('evicts the oldest entries first, through many evictions, and keeps its byte count', () => {
    const memo = new ResolveMemo({ maxEntries: 3, maxBytes: 1_000_000 });
    for (let i = 0; i < 5000; i++) memo.set(`k${i}`, entry(10));
    expect(memo.size).toBe(3);
    expect([4997, 4998, 4999].every((i) => memo.get(`k${i}`) !== undefined)).toBe(true);
    expect(memo.get('k4996')).toBeUndefined();
    expect(memo.bytes).toBe(3 * (5 + 10));
  });

  it('evicts as many of the oldest as the byte cap needs', () => {
    const memo = new ResolveMemo({ maxEntries: 100, maxBytes: 100 });
    for (let i = 0; i < 4; i++) memo.set(`k${i}`, entry(23)); // 25 bytes each: four fit
    memo.set('big', entry(57)); // 60 bytes: the three oldest go
    expect([memo.get('k0'), memo.get('k1'), memo.get('k2')]).toEqual([undefined, undefined, undefined]);
    expect(memo.get('k3')).toBeDefined();
    expect(memo.bytes).toBe(85);
  });

  it("stores an answer on its request's second miss, so one-off requests do not displace answers asked for again", () => {
    const memo = new ResolveMemo({ maxEntries: 10 });
    expect(memo.shouldStore('a')).toBe(false);
    expect(memo.shouldStore('b')).toBe(false);
    expect(memo.shouldStore('a')).toBe(true);
    const always = new ResolveMemo({ maxEntries: 10, isSecondMissOnly: false });
    expect(always.shouldStore('a')).toBe(true);
  });

  it('forgets the requests it saw once after 4 x maxEntries of them', () => {
    const memo = new ResolveMemo({ maxEntries: 10 });
    expect(memo.shouldStore('first')).toBe(false);
    for (let i = 0; i < 39; i++) memo.shouldStore(`other-${i}`);
    expect(memo.shouldStore('first')).toBe(false); // cleared by the 40th
  });
});
