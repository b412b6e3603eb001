import { describe, expect, it } from 'vitest';
import { CallLimiter } from '../../../src/server/admission/call-limiter.js';

describe('CallLimiter.hold', () => {
  it('keeps a slot taken until released, once, and counts it as a unary call in flight', async () => {
    const limiter = new CallLimiter(2);
    limiter.enter(false);
    const release = limiter.hold();
    limiter.leave(false); // the call ended; its work goes on
    expect(limiter.unaryInFlight).toBe(1);
    limiter.enter(true);
    expect(limiter.hasRoom).toBe(false);
    let isIdle = false;
    const idle = limiter.whenUnaryIdle().then(() => (isIdle = true));
    await Promise.resolve();
    expect(isIdle).toBe(false);
    release();
    release(); // a second release does nothing
    await idle;
    expect(limiter.unaryInFlight).toBe(0);
    expect(limiter.hasRoom).toBe(true);
  });
});
