import { Metadata, status, type ServerInterceptingCallInterface, type ServiceDefinition, type StatusObject } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GrpcServerMetrics } from '../../../src/metrics/grpc-server.js';
import { CallInterceptor } from '../../../src/server/admission/call-interceptor.js';
import { CallLimiter } from '../../../src/server/admission/call-limiter.js';

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
const ASK = DEFINITION['ask'] as never;
const FOLLOW = DEFINITION['follow'] as never;
const ASK_LABELS = 'grpc_type="unary",grpc_service="test.v1.Svc",grpc_method="Ask"';
const FOLLOW_LABELS = 'grpc_type="server_stream",grpc_service="test.v1.Svc",grpc_method="Follow"';

type Listener = Parameters<ServerInterceptingCallInterface['start']>[0];

/** What grpc-js's own call does, reduced to what the interceptor touches: deadline, listener, statuses. */
class BaseCall {
  listener: Listener | undefined;
  readonly statuses: Partial<StatusObject>[] = [];
  constructor(readonly deadline: Date | number = Infinity) {}
  start(listener: Listener): void {
    this.listener = listener;
    listener.onReceiveMetadata(new Metadata());
  }
  sendStatus(s: Partial<StatusObject>): void {
    this.statuses.push(s);
  }
  sendMetadata(): void {}
  sendMessage(_m: unknown, cb: () => void): void {
    cb();
  }
  startRead(): void {}
  getDeadline(): Date | number {
    return this.deadline;
  }
  /** grpc-js ends a call itself (deadline timer, client reset), then tells the listener. */
  endByGrpc(): void {
    this.listener?.onCancel();
  }
}

/** A call as the handler sees it: grpc-js's handleUnary delivers message, then half-close, then runs the handler. */
function arrive(interceptor: CallInterceptor, def: never, deadline?: Date | number) {
  const base = new BaseCall(deadline);
  const call = interceptor.intercept(def, base as unknown as ServerInterceptingCallInterface) as unknown as ServerInterceptingCallInterface;
  let handlerRuns = 0;
  call.start({
    onReceiveMetadata: () => undefined,
    onReceiveMessage: () => undefined,
    onReceiveHalfClose: () => void handlerRuns++,
    onCancel: () => undefined,
  });
  const deliver = (): void => {
    base.listener?.onReceiveMessage('q');
    base.listener?.onReceiveHalfClose();
  };
  return { base, call, deliver, handlerRuns: () => handlerRuns, answer: (code: status = status.OK) => call.sendStatus({ code, details: '' }) };
}

function setup(maxInFlight = 2) {
  const registry = new Registry();
  const limiter = new CallLimiter(maxInFlight);
  const interceptor = new CallInterceptor(new GrpcServerMetrics(registry));
  interceptor.add(DEFINITION, limiter);
  return { interceptor, limiter, scrape: () => registry.metrics() };
}

describe('CallInterceptor', () => {
  it('refuses a call beyond the cap with RESOURCE_EXHAUSTED before reading it', () => {
    const s = setup(2);
    const [first, second] = [arrive(s.interceptor, ASK), arrive(s.interceptor, ASK)];
    const third = arrive(s.interceptor, ASK);
    expect(third.base.statuses).toMatchObject([{ code: status.RESOURCE_EXHAUSTED }]);
    expect(third.base.statuses[0]?.details).toContain('limit of 2 calls in flight');
    expect(third.base.listener).toBeUndefined(); // never started: nothing read, no handler
    expect(s.limiter.unaryInFlight).toBe(2);
    for (const c of [first, second]) {
      c.deliver();
      c.answer();
    }
    expect(first.handlerRuns() + second.handlerRuns()).toBe(2);
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('counts a call from its arrival, so calls still waiting for their message fill the cap', () => {
    const s = setup(1);
    const waiting = arrive(s.interceptor, ASK); // headers in, message not yet
    expect(arrive(s.interceptor, ASK).base.statuses).toMatchObject([{ code: status.RESOURCE_EXHAUSTED }]);
    waiting.deliver();
    waiting.answer();
    const next = arrive(s.interceptor, ASK);
    next.deliver();
    expect(next.handlerRuns()).toBe(1);
  });

  it('answers DEADLINE_EXCEEDED without running the handler when the deadline has passed on arrival', () => {
    const s = setup();
    for (const deadline of [new Date(Date.now() - 1), Date.now() - 1]) {
      const late = arrive(s.interceptor, ASK, deadline);
      late.deliver();
      expect(late.base.statuses).toMatchObject([{ code: status.DEADLINE_EXCEEDED }]);
      expect(late.handlerRuns()).toBe(0);
    }
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('answers DEADLINE_EXCEEDED without running the handler when the deadline passes while the message is awaited', async () => {
    const s = setup();
    const c = arrive(s.interceptor, ASK, Date.now() + 20);
    await new Promise((r) => setTimeout(r, 40));
    c.deliver();
    expect(c.base.statuses).toMatchObject([{ code: status.DEADLINE_EXCEEDED, details: expect.stringContaining('nothing was done') }]);
    expect(c.handlerRuns()).toBe(0);
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('runs a call whose deadline is still ahead', () => {
    const s = setup();
    const c = arrive(s.interceptor, ASK, new Date(Date.now() + 60_000));
    c.deliver();
    expect(c.handlerRuns()).toBe(1);
    c.answer();
    expect(c.base.statuses).toMatchObject([{ code: status.OK }]);
  });

  it('records every call, refusals and calls grpc-js ends itself included, each once', async () => {
    const s = setup(3);
    const answered = arrive(s.interceptor, ASK);
    answered.deliver();
    answered.answer(status.NOT_FOUND);
    answered.base.endByGrpc(); // grpc-js signals cancel after every end: not a second count
    const expired = arrive(s.interceptor, ASK, Date.now() + 5);
    await new Promise((r) => setTimeout(r, 10));
    expired.base.endByGrpc(); // its deadline timer fired before the message came
    const reset = arrive(s.interceptor, ASK, Date.now() + 60_000);
    reset.base.endByGrpc(); // the client reset the stream
    arrive(s.interceptor, ASK, Date.now() - 1); // refused on arrival
    const text = await s.scrape();
    expect(text).toContain(`grpc_server_started_total{${ASK_LABELS}} 4`);
    expect(text).toContain(`grpc_server_handled_total{${ASK_LABELS},grpc_code="NOT_FOUND"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${ASK_LABELS},grpc_code="DEADLINE_EXCEEDED"} 2`);
    expect(text).toContain(`grpc_server_handled_total{${ASK_LABELS},grpc_code="CANCELLED"} 1`);
    expect(text).toContain(`grpc_server_handling_seconds_count{${ASK_LABELS}} 4`);
    expect(s.limiter.unaryInFlight).toBe(0);
  });

  it('resolves whenUnaryIdle once the last call in flight answers', async () => {
    const s = setup();
    await s.limiter.whenUnaryIdle(); // nothing in flight: at once
    const [a, b] = [arrive(s.interceptor, ASK), arrive(s.interceptor, ASK)];
    let isIdle = false;
    const idle = s.limiter.whenUnaryIdle().then(() => (isIdle = true));
    a.answer();
    await Promise.resolve();
    expect(isIdle).toBe(false);
    b.answer();
    await idle;
    expect(isIdle).toBe(true);
  });

  it('counts an open stream against the cap and records how it ended', async () => {
    const s = setup(2);
    const ok = arrive(s.interceptor, FOLLOW);
    const failing = arrive(s.interceptor, FOLLOW);
    expect(s.limiter.openStreams).toBe(2);
    expect(arrive(s.interceptor, ASK).base.statuses).toMatchObject([{ code: status.RESOURCE_EXHAUSTED }]);
    ok.answer();
    ok.base.endByGrpc();
    failing.answer(status.INTERNAL);
    const cancelled = arrive(s.interceptor, FOLLOW);
    cancelled.base.endByGrpc();
    expect(s.limiter.openStreams).toBe(0);
    const text = await s.scrape();
    expect(text).toContain(`grpc_server_handled_total{${FOLLOW_LABELS},grpc_code="OK"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${FOLLOW_LABELS},grpc_code="INTERNAL"} 1`);
    expect(text).toContain(`grpc_server_handled_total{${FOLLOW_LABELS},grpc_code="CANCELLED"} 1`);
  });

  it('measures without shedding when added without a limiter', async () => {
    const registry = new Registry();
    const interceptor = new CallInterceptor(new GrpcServerMetrics(registry));
    interceptor.add(DEFINITION);
    const late = arrive(interceptor, ASK, Date.now() - 1);
    late.deliver();
    expect(late.handlerRuns()).toBe(1);
    late.answer();
    expect(await registry.metrics()).toContain(`grpc_server_handled_total{${ASK_LABELS},grpc_code="OK"} 1`);
  });

  it('passes calls of services it was not given through untouched', () => {
    const { interceptor } = setup();
    const base = new BaseCall();
    const other = method('/other.v1.Svc/Any') as never;
    expect(interceptor.intercept(other, base as unknown as ServerInterceptingCallInterface)).toBe(base);
  });
});
