import { describe, expect, it, vi } from 'vitest';
import {
  CANCELLED_BEFORE_STEP_DETAIL,
  CANCELLED_DETAIL,
  CHECK_THREW_DETAIL,
  DEADLINE_BEFORE_STEP_DETAIL,
  deadlineMarginMs,
  executePipeline,
  YIELD_AFTER_MS,
} from '../../src/engine/pipeline.js';
import type { GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../../src/model/guardrail.js';
import { DEFAULT_MODIFY_RESPONSE_MESSAGE } from '../../src/model/pipeline-run.js';
import type { Action } from '../../src/model/policy.js';
import { fakeGuardrail, pipelineInput, pipelineOf, snapshotWithGuardrails, step } from '../helpers/pipeline.js';
import { ctx } from '../helpers/snapshot.js';

const PASS: GuardrailCheck = () => ({ outcome: 'pass' });
const FAIL: GuardrailCheck = () => ({ outcome: 'fail', detail: 'blocked: secret found' });
const ERROR: GuardrailCheck = () => ({ outcome: 'error', detail: 'vendor answered 503' });
const CHECKS = { pass: PASS, fail: FAIL, error: ERROR } as const;
const DETAILS = { pass: '', fail: 'blocked: secret found', error: 'vendor answered 503' } as const;
const ACTIONS: readonly Action[] = ['allow', 'block', 'next', 'modify_response'];

/** A check that records what it saw and answers `verdict`. */
function recording(verdict: GuardrailVerdict): { check: GuardrailCheck; seen: GuardrailInput[] } {
  const seen: GuardrailInput[] = [];
  return { seen, check: (input) => (seen.push(input), verdict) };
}

/** A check whose promise never settles, whatever its signal says. */
const HUNG: GuardrailCheck = () => new Promise<GuardrailVerdict>(() => undefined);

describe('executePipeline: actions per outcome', () => {
  const cases = (['pass', 'fail', 'error'] as const).flatMap((outcome) => ACTIONS.map((action) => [outcome, action] as const));

  it.each(cases)('outcome %s with the action %s for it', async (outcome, action) => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', CHECKS[outcome]), fakeGuardrail('last', PASS)]);
    const actionKey = outcome === 'pass' ? 'onPass' : outcome === 'fail' ? 'onFail' : 'onError';
    // The other actions are set to something that would show if the wrong one were used.
    const first = step('g', { onPass: 'block', onFail: 'allow', onError: 'allow', [actionKey]: action });
    const last = step('last', { onPass: 'allow' });
    const r = await executePipeline(snapshot, pipelineOf([first, last]), pipelineInput());

    expect(r.steps[0]).toMatchObject({ guardrail: 'g', kind: 'fake', outcome, action, detail: DETAILS[outcome] });
    if (action === 'next') {
      expect(r.terminalAction).toBe('allow');
      expect(r.steps.map((s) => s.guardrail)).toEqual(['g', 'last']);
      return;
    }
    expect(r.terminalAction).toBe(action);
    expect(r.steps).toHaveLength(1);
    expect(r.errorMessage).toBe(action === 'block' ? DETAILS[outcome] : '');
    const modifyMessage = DETAILS[outcome] || DEFAULT_MODIFY_RESPONSE_MESSAGE;
    expect(r.modifyResponseMessage).toBe(action === 'modify_response' ? modifyMessage : '');
  });

  it('uses on_fail for an error when on_error is unset', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', ERROR), fakeGuardrail('last', FAIL)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { onFail: 'next' }), step('last', { onFail: 'modify_response' })]), pipelineInput());
    expect(r.steps.map((s) => [s.outcome, s.action])).toEqual([
      ['error', 'next'],
      ['fail', 'modify_response'],
    ]);
    expect(r.terminalAction).toBe('modify_response');
  });

  it('uses on_error over on_fail for an error when both are set', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', ERROR)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { onFail: 'block', onError: 'allow' })]), pipelineInput());
    expect(r.terminalAction).toBe('allow');
    expect(r.steps[0]).toMatchObject({ outcome: 'error', action: 'allow', detail: 'vendor answered 503' });
  });

  it('does not use on_error for a fail', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', FAIL)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { onFail: 'block', onError: 'allow' })]), pipelineInput());
    expect(r.terminalAction).toBe('block');
    expect(r.errorMessage).toBe('blocked: secret found');
  });

  it('allows when every step says next, reporting every step', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('a', PASS), fakeGuardrail('b', FAIL), fakeGuardrail('c', ERROR)]);
    const steps = [step('a', { onPass: 'next' }), step('b', { onFail: 'next' }), step('c', { onError: 'next' })];
    const r = await executePipeline(snapshot, pipelineOf(steps), pipelineInput());
    expect(r.terminalAction).toBe('allow');
    expect(r.steps.map((s) => [s.guardrail, s.outcome, s.action])).toEqual([
      ['a', 'pass', 'next'],
      ['b', 'fail', 'next'],
      ['c', 'error', 'next'],
    ]);
    expect(r.errorMessage).toBe('');
    expect(r.modifyResponseMessage).toBe('');
  });

  it('stops at the first terminal action without running later steps', async () => {
    const later = vi.fn(PASS);
    const snapshot = snapshotWithGuardrails([fakeGuardrail('a', FAIL), fakeGuardrail('b', later)]);
    const r = await executePipeline(snapshot, pipelineOf([step('a'), step('b')]), pipelineInput());
    expect(r.terminalAction).toBe('block');
    expect(later).not.toHaveBeenCalled();
  });
});

describe('executePipeline: modify_response message', () => {
  const snapshot = snapshotWithGuardrails([fakeGuardrail('fail', FAIL), fakeGuardrail('pass', PASS)]);

  it("prefers the step's modify_response_message", async () => {
    const s = step('fail', { onFail: 'modify_response', modifyResponseMessage: "I can't help with that." });
    const r = await executePipeline(snapshot, pipelineOf([s]), pipelineInput());
    expect(r.modifyResponseMessage).toBe("I can't help with that.");
    expect(r.errorMessage).toBe('');
  });

  it("falls back to the guardrail's detail", async () => {
    const r = await executePipeline(snapshot, pipelineOf([step('fail', { onFail: 'modify_response' })]), pipelineInput());
    expect(r.modifyResponseMessage).toBe('blocked: secret found');
  });

  it("falls back to LiteLLM's proxy message when there is neither (a pass)", async () => {
    const r = await executePipeline(snapshot, pipelineOf([step('pass', { onPass: 'modify_response' })]), pipelineInput());
    expect(r.modifyResponseMessage).toBe('Response modified by pipeline');
  });
});

describe('executePipeline: pass_data and the working copy', () => {
  const input = pipelineInput({
    messages: [
      { role: 'system', content: 'be nice' },
      { role: 'user', content: 'my key is AKIA123' },
    ],
  });
  const mask: GuardrailCheck = (i) => ({ outcome: 'pass', texts: i.texts.map((t) => t.replace('AKIA123', '[MASKED]')) });

  it('forwards a passing step\'s replacement texts to the next step and the answer when pass_data is set', async () => {
    const next = recording({ outcome: 'pass' });
    const snapshot = snapshotWithGuardrails([fakeGuardrail('mask', mask), fakeGuardrail('next', next.check)]);
    const r = await executePipeline(snapshot, pipelineOf([step('mask', { onPass: 'next', passData: true }), step('next')]), input);
    expect(next.seen[0]?.texts).toEqual(['be nice', 'my key is [MASKED]']);
    expect(next.seen[0]?.messages).toEqual([
      { role: 'system', content: 'be nice' },
      { role: 'user', content: 'my key is [MASKED]' },
    ]);
    expect(r.messages).toEqual(next.seen[0]?.messages);
  });

  it('drops the replacement texts without pass_data: the next step and the answer see the input', async () => {
    const next = recording({ outcome: 'pass' });
    const snapshot = snapshotWithGuardrails([fakeGuardrail('mask', mask), fakeGuardrail('next', next.check)]);
    const r = await executePipeline(snapshot, pipelineOf([step('mask', { onPass: 'next' }), step('next')]), input);
    expect(next.seen[0]?.texts).toEqual(['be nice', 'my key is AKIA123']);
    expect(r.messages).toEqual(input.messages);
  });

  it('keeps the masked copy when a later step blocks', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('mask', mask), fakeGuardrail('fail', FAIL)]);
    const r = await executePipeline(snapshot, pipelineOf([step('mask', { onPass: 'next', passData: true }), step('fail')]), input);
    expect(r.terminalAction).toBe('block');
    expect(r.messages[1]).toEqual({ role: 'user', content: 'my key is [MASKED]' });
  });

  it('answers with the input messages when nothing was forwarded', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('pass', PASS)]);
    const r = await executePipeline(snapshot, pipelineOf([step('pass', { passData: true })]), input);
    expect(r.messages).toEqual(input.messages);
    expect(r.responseText).toBeUndefined();
  });

  it('checks the response text in post_call, forwarding it and leaving the messages alone', async () => {
    const next = recording({ outcome: 'pass' });
    const snapshot = snapshotWithGuardrails([fakeGuardrail('mask', mask), fakeGuardrail('next', next.check)]);
    const pipeline = pipelineOf([step('mask', { onPass: 'next', passData: true }), step('next')], 'post_call');
    const r = await executePipeline(snapshot, pipeline, { ...input, responseText: 'the key AKIA123 works' });
    expect(next.seen[0]).toMatchObject({ inputType: 'response', texts: ['the key [MASKED] works'], messages: [] });
    expect(r.responseText).toBe('the key [MASKED] works');
    expect(r.messages).toEqual(input.messages);
  });

  it('gives each check the request kind, context and request id', async () => {
    const seen = recording({ outcome: 'pass' });
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', seen.check)]);
    const context = ctx({ teamAlias: 'team-a', model: 'gpt-4o' });
    await executePipeline(snapshot, pipelineOf([step('g')]), { ...input, context, requestId: 'req-7' });
    expect(seen.seen[0]).toMatchObject({ inputType: 'request', texts: ['be nice', 'my key is AKIA123'], context, requestId: 'req-7' });
    expect(seen.seen[0]?.signal.aborted).toBe(false);
  });

  it('turns a pass with the wrong number of replacement texts into an error', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', () => ({ outcome: 'pass', texts: ['only one'] }))]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { passData: true })]), input);
    expect(r.steps[0]).toMatchObject({ outcome: 'error', detail: 'guardrail returned 1 replacement texts for 2 inputs' });
    expect(r.terminalAction).toBe('block');
    expect(r.messages).toEqual(input.messages);
  });
});

describe('executePipeline: guardrails that cannot run', () => {
  it("reports an undefined guardrail with LiteLLM's detail", async () => {
    const snapshot = snapshotWithGuardrails([]);
    const r = await executePipeline(snapshot, pipelineOf([step('ghost', { onFail: 'next' })]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ guardrail: 'ghost', kind: '', outcome: 'error', action: 'next', detail: "Guardrail 'ghost' not found" });
    expect(r.terminalAction).toBe('allow');
  });

  it('reports a kind the sidecar does not execute', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('pii', undefined, { kind: 'presidio' })]);
    const r = await executePipeline(snapshot, pipelineOf([step('pii')]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ kind: 'presidio', outcome: 'error', detail: "guardrail 'pii' (kind presidio) is not executable in the sidecar" });
    expect(r.terminalAction).toBe('block');
    expect(r.errorMessage).toBe("guardrail 'pii' (kind presidio) is not executable in the sidecar");
  });

  it('turns a check that throws into an error with a safe detail, handing the cause to onCheckError', async () => {
    const cause = new Error('cannot parse "my key is AKIA123"');
    const onCheckError = vi.fn();
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', () => { throw cause; })]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { onError: 'allow' })]), pipelineInput(), { onCheckError });
    expect(r.steps[0]).toMatchObject({ outcome: 'error', action: 'allow', detail: CHECK_THREW_DETAIL });
    expect(JSON.stringify(r)).not.toContain('AKIA123');
    expect(onCheckError).toHaveBeenCalledWith(expect.objectContaining({ name: 'g' }), cause);
  });

  it('turns a rejected promise into an error the same way', async () => {
    const onCheckError = vi.fn();
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', () => Promise.reject(new TypeError('boom')), { timeoutMs: 5000 })]);
    const r = await executePipeline(snapshot, pipelineOf([step('g')]), pipelineInput(), { onCheckError });
    expect(r.steps[0]).toMatchObject({ outcome: 'error', detail: CHECK_THREW_DETAIL });
    expect(onCheckError).toHaveBeenCalledOnce();
  });

  it('turns a malformed verdict into an error', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', () => ({ outcome: 'maybe' }) as unknown as GuardrailVerdict)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g')]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ outcome: 'error', detail: 'guardrail returned an invalid verdict' });
  });

  it('awaits an async check and reports its verdict, timing and the revision', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', async () => ({ outcome: 'fail', detail: 'remote says no' }))]);
    const r = await executePipeline(snapshot, pipelineOf([step('g')]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ outcome: 'fail', detail: 'remote says no' });
    expect(r.steps[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.revision).toBe(snapshot.revision);
  });
});

describe('executePipeline: time limits', () => {
  it('ends a hung check that ignores its signal at the step timeout, aborting the signal', async () => {
    let signal: AbortSignal | undefined;
    const hung: GuardrailCheck = (input) => ((signal = input.signal), HUNG(input));
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', hung), fakeGuardrail('after', PASS)]);
    const r = await executePipeline(snapshot, pipelineOf([step('slow', { timeoutMs: 20, onError: 'next' }), step('after')]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ outcome: 'error', action: 'next', detail: 'step timed out after 20 ms' });
    expect(signal?.aborted).toBe(true);
    expect(r.terminalAction).toBe('allow');
  }, 5000);

  it("uses the guardrail's own timeout when the step sets none", async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', HUNG, { timeoutMs: 15 })]);
    const r = await executePipeline(snapshot, pipelineOf([step('slow')]), pipelineInput());
    expect(r.steps[0]).toMatchObject({ outcome: 'error', detail: 'step timed out after 15 ms' });
    expect(r.errorMessage).toBe('step timed out after 15 ms');
  }, 5000);

  it('lets the step timeout override the guardrail default', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', HUNG, { timeoutMs: 60_000 })]);
    const r = await executePipeline(snapshot, pipelineOf([step('slow', { timeoutMs: 10 })]), pipelineInput());
    expect(r.steps[0]?.detail).toBe('step timed out after 10 ms');
  }, 5000);

  it('does not start a step once the deadline has passed; its on_error applies', async () => {
    const check = vi.fn(PASS);
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', check)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { onError: 'modify_response' })]), pipelineInput(), {
      deadline: Date.now() - 1,
    });
    expect(check).not.toHaveBeenCalled();
    expect(r.steps[0]).toMatchObject({ outcome: 'error', action: 'modify_response', detail: DEADLINE_BEFORE_STEP_DETAIL });
    expect(r.modifyResponseMessage).toBe(DEADLINE_BEFORE_STEP_DETAIL);
  });

  it('ends the later steps in error once the deadline passes mid-pipeline, each with its own action', async () => {
    let clock = 1_000_000;
    const slowSync: GuardrailCheck = () => ((clock += 500), { outcome: 'pass' });
    const never = vi.fn(PASS);
    const snapshot = snapshotWithGuardrails([fakeGuardrail('first', slowSync), fakeGuardrail('second', never), fakeGuardrail('third', never)]);
    const steps = [step('first', { onPass: 'next' }), step('second', { onFail: 'next' }), step('third', { onFail: 'block', onError: 'allow' })];
    const r = await executePipeline(snapshot, pipelineOf(steps), pipelineInput(), { deadline: clock + 200, now: () => clock });
    expect(r.steps.map((s) => [s.guardrail, s.outcome, s.action, s.detail])).toEqual([
      ['first', 'pass', 'next', ''],
      ['second', 'error', 'next', DEADLINE_BEFORE_STEP_DETAIL],
      ['third', 'error', 'allow', DEADLINE_BEFORE_STEP_DETAIL],
    ]);
    expect(never).not.toHaveBeenCalled();
    expect(r.terminalAction).toBe('allow');
  });

  it('caps an async step at the deadline less the margin', async () => {
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', HUNG, { timeoutMs: 60_000 })]);
    const r = await executePipeline(snapshot, pipelineOf([step('slow')]), pipelineInput(), { deadline: Date.now() + 100 });
    expect(r.steps[0]?.outcome).toBe('error');
    expect(r.steps[0]?.detail).toMatch(/^call deadline reached while the step was running \(after \d+ ms\)$/);
  }, 5000);

  it('lets a synchronous check finish even past its limit (it cannot be interrupted)', async () => {
    let clock = 0;
    const slowSync: GuardrailCheck = () => ((clock += 1000), { outcome: 'fail', detail: 'found it' });
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', slowSync)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g', { timeoutMs: 10 })]), pipelineInput(), { deadline: 500, now: () => clock });
    expect(r.steps[0]).toMatchObject({ outcome: 'fail', detail: 'found it' });
  });

  it('keeps a margin of 10% of the time left, between 5 and 250 ms, and none without a deadline', () => {
    expect(deadlineMarginMs(Infinity)).toBe(0);
    expect(deadlineMarginMs(20)).toBe(5);
    expect(deadlineMarginMs(400)).toBe(40);
    expect(deadlineMarginMs(10_000)).toBe(250);
  });
});

describe('executePipeline: cancellation', () => {
  /** A check that ends (as an error, like the HTTP check) only when its signal aborts. */
  const untilAborted: GuardrailCheck = (input) =>
    new Promise((resolve) => input.signal.addEventListener('abort', () => resolve({ outcome: 'error', detail: 'aborted' })));

  it('aborts the running check when the signal fires, ends with it, and runs no later step', async () => {
    const never = vi.fn(PASS);
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', untilAborted, { timeoutMs: 60_000 }), fakeGuardrail('after', never)]);
    const cancel = new AbortController();
    const run = executePipeline(snapshot, pipelineOf([step('slow', { onError: 'next' }), step('after')]), pipelineInput(), { signal: cancel.signal });
    await new Promise((r) => setTimeout(r, 5));
    cancel.abort();
    const r = await run;
    expect(never).not.toHaveBeenCalled();
    expect(r.steps.map((s) => [s.guardrail, s.outcome, s.detail])).toEqual([
      ['slow', 'error', CANCELLED_DETAIL],
      ['after', 'error', CANCELLED_BEFORE_STEP_DETAIL],
    ]);
  }, 5000);

  it('waits for a check that ignores its signal until it ends or its limit passes, so the run ends with its work', async () => {
    let isCheckOver = false;
    const stubborn: GuardrailCheck = () => new Promise((resolve) => setTimeout(() => ((isCheckOver = true), resolve({ outcome: 'pass' })), 60));
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', stubborn, { timeoutMs: 60_000 }), fakeGuardrail('hung', HUNG, { timeoutMs: 40 })]);
    const cancel = new AbortController();
    const run = executePipeline(snapshot, pipelineOf([step('g', { onPass: 'next' })]), pipelineInput(), { signal: cancel.signal });
    cancel.abort();
    expect((await run).steps[0]).toMatchObject({ outcome: 'error', detail: CANCELLED_DETAIL });
    expect(isCheckOver).toBe(true);
    const hungCancel = new AbortController();
    const hungRun = executePipeline(snapshot, pipelineOf([step('hung')]), pipelineInput(), { signal: hungCancel.signal });
    const started = performance.now();
    hungCancel.abort();
    expect((await hungRun).steps[0]?.detail).toBe(CANCELLED_DETAIL); // ended by its 40 ms limit, not by the cancel
    expect(performance.now() - started).toBeGreaterThanOrEqual(30);
  }, 5000);

  it('starts no check once the signal has fired', async () => {
    const check = vi.fn(PASS);
    const snapshot = snapshotWithGuardrails([fakeGuardrail('g', check)]);
    const r = await executePipeline(snapshot, pipelineOf([step('g')]), pipelineInput(), { signal: AbortSignal.abort() });
    expect(check).not.toHaveBeenCalled();
    expect(r.steps[0]).toMatchObject({ outcome: 'error', detail: CANCELLED_BEFORE_STEP_DETAIL });
  });
});

describe('executePipeline: sharing the event loop', () => {
  /** A synchronous check that keeps the event loop for `ms`. */
  const busyFor =
    (ms: number): GuardrailCheck =>
    () => {
      const until = performance.now() + ms;
      while (performance.now() < until);
      return { outcome: 'pass' };
    };

  it('lets pending callbacks run between slow synchronous steps', async () => {
    const order: string[] = [];
    const note =
      (name: string, check: GuardrailCheck): GuardrailCheck =>
      (input) => (order.push(name), check(input));
    const snapshot = snapshotWithGuardrails([fakeGuardrail('slow', note('slow', busyFor(YIELD_AFTER_MS + 5))), fakeGuardrail('after', note('after', PASS))]);
    setImmediate(() => order.push('other'));
    await executePipeline(snapshot, pipelineOf([step('slow', { onPass: 'next' }), step('after')]), pipelineInput());
    expect(order).toEqual(['slow', 'other', 'after']);
  });
});
