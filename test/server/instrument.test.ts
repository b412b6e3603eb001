import { EventEmitter } from 'node:events';
import { status, type sendUnaryData, type ServiceDefinition, type StatusObject } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GrpcServerMetrics } from '../../src/metrics/grpc-server.js';
import { CallLimiter, instrumentService } from '../../src/server/instrument.js';

const log = pino({ level: 'silent' });
const method = (path: string, responseStream = false) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: (x: unknown) => Buffer.from(String(x)),
  requestDeserialize: (b: Buffer) => b.toString(),
  responseSerialize: (x: unknown) => Buffer.from(String(x)),
  responseDeserialize: (b: Buffer) => b.toString(),
});
const DEFINITION = {
  ask: method('/test.v1.Svc/Ask'),
  follow: method('/test.v1.Svc/Follow', true),
} as unknown as ServiceDefinition;

/** A unary call as grpc-js hands it to a handler: only getDeadline matters here. */
const unaryCall = (deadline: Date | number = Infinity) => ({ request: 'q', getDeadline: () => deadline }) as never;

/** A server-streaming call: an emitter with end() and getDeadline(). */
class FakeStream extends EventEmitter {
  isEnded = false;
  getDeadline(): number {
    return Infinity;
  }
  end(): this {
    this.isEnded = true;
    return this;
  }
}

function setup(maxInFlight = 2) {
  const registry = new Registry();
  const metrics = new GrpcServerMetrics(registry);
  const limiter = new CallLimiter(maxInFlight);
  const pending: sendUnaryData<unknown>[] = [];
  let handlerRuns = 0;
  const streams: FakeStream[] = [];
  const impl = instrumentService(
    DEFINITION,
    {
      ask: (_call: unknown, cb: sendUnaryData<unknown>) => {
        handlerRuns++;
        pending.push(cb);
      },
      follow: (call: FakeStream) => void streams.push(call),
    } as never,
    { metrics, limiter, log },
  ) as unknown as { ask: (call: never, cb: sendUnaryData<unknown>) => void; follow: (call: FakeStream) => void };
  const ask = (deadline?: Date | number) =>
    new Promise<{ err: Partial<StatusObject> | null; value: unknown }>((resolve) =>
      impl.ask(unaryCall(deadline), (err, value) => resolve({ err: err as Partial<StatusObject> | null, value })),
    );
  return { impl, limiter, pending, streams, ask, runs: () => handlerRuns, scrape: () => registry.metrics() };
}

describe('instrumentService', () => {
  it('refuses a call beyond the cap with RESOURCE_EXHAUSTED without running the handler', async () => {
    const s = setup(2);
    const first = s.ask();
    const second = s.ask();
    const third = await s.ask();
    expect(third.err).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    expect(third.err?.details).toContain('limit of 2 calls in flight');
    expect(s.runs()).toBe(2);
    expect(s.limiter.unaryInFlight).toBe(2);
    for (const cb of s.pending.splice(0)) cb(null, 'ok');
    expect((await first).value).toBe('ok');
    expect((await second).value).toBe('ok');
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('admits calls again once earlier ones have answered', async () => {
    const s = setup(1);
    const first = s.ask();
    s.pending.shift()?.(null, 'one');
    await first;
    const second = s.ask();
    expect(s.runs()).toBe(2);
    s.pending.shift()?.(null, 'two');
    expect((await second).value).toBe('two');
  });

  it('answers DEADLINE_EXCEEDED without running the handler when the deadline has passed', async () => {
    const s = setup();
    const late = await s.ask(new Date(Date.now() - 1));
    expect(late.err).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    const lateNumber = await s.ask(Date.now() - 1);
    expect(lateNumber.err).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(s.runs()).toBe(0);
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('runs a call whose deadline is still ahead', async () => {
    const s = setup();
    const call = s.ask(new Date(Date.now() + 60_000));
    expect(s.runs()).toBe(1);
    s.pending.shift()?.(null, 'ok');
    expect((await call).err).toBeNull();
  });

  it('records started and handled calls by code, refusals included', async () => {
    const s = setup(1);
    const first = s.ask();
    await s.ask(); // refused: at the cap
    s.pending.shift()?.({ code: status.NOT_FOUND, details: 'no such policy' });
    await first;
    const text = await s.scrape();
    const labels = 'grpc_type="unary",grpc_service="test.v1.Svc",grpc_method="Ask"';
    expect(text).toContain(`grpc_server_started_total{${labels}} 2`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="NOT_FOUND"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="RESOURCE_EXHAUSTED"} 1`);
    expect(text).toContain(`grpc_server_handling_seconds_count{${labels}} 2`);
  });

  it('resolves whenUnaryIdle once the last call in flight answers', async () => {
    const s = setup();
    await s.limiter.whenUnaryIdle(); // nothing in flight: at once
    void s.ask();
    void s.ask();
    let isIdle = false;
    const idle = s.limiter.whenUnaryIdle().then(() => (isIdle = true));
    s.pending.shift()?.(null, 'a');
    await Promise.resolve();
    expect(isIdle).toBe(false);
    s.pending.shift()?.(null, 'b');
    await idle;
    expect(isIdle).toBe(true);
  });

  it('counts an open stream against the cap and records it as handled when it ends', async () => {
    const s = setup(2);
    const stream = new FakeStream();
    s.impl.follow(stream);
    expect(s.limiter.openStreams).toBe(1);
    void s.ask();
    expect((await s.ask()).err).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    stream.end();
    stream.emit('cancelled'); // grpc-js emits this after every end; it must not count twice
    expect(s.limiter.openStreams).toBe(0);
    const text = await s.scrape();
    const labels = 'grpc_type="server_stream",grpc_service="test.v1.Svc",grpc_method="Follow"';
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="OK"} 1`);
    expect(text).not.toContain(`${labels},grpc_code="CANCELLED"`);
  });

  it('records a stream that fails with its error code, and one the client cancels as CANCELLED', async () => {
    const s = setup();
    const failing = new FakeStream();
    s.impl.follow(failing);
    failing.emit('error', { code: status.INTERNAL });
    failing.end(); // grpc-js ends the stream after an error
    const cancelled = new FakeStream();
    s.impl.follow(cancelled);
    cancelled.emit('cancelled');
    const text = await s.scrape();
    const labels = 'grpc_type="server_stream",grpc_service="test.v1.Svc",grpc_method="Follow"';
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="INTERNAL"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${labels},grpc_code="CANCELLED"} 1`);
    expect(s.limiter.openStreams).toBe(0);
  });
});
