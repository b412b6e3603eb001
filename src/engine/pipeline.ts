import type { ChatMessage, CompiledGuardrail, GuardrailVerdict } from '../model/guardrail.js';
import {
  DEFAULT_MODIFY_RESPONSE_MESSAGE,
  type PipelineInput,
  type PipelineResult,
  type StepResult,
  type TerminalAction,
} from '../model/pipeline-run.js';
import type { Action, PipelineSpec, PipelineStepSpec } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import { CheckInput, runCheck, type CheckErrorListener, type StepLimit } from './pipeline-check.js';

export { CANCELLED_DETAIL, CHECK_THREW_DETAIL, type CheckErrorListener } from './pipeline-check.js';

/** How a pipeline run meets its caller: the deadline, a clock, and where check crashes are reported. */
export interface ExecuteOptions {
  /** When the caller stops waiting, in epoch milliseconds; undefined or Infinity for never. */
  readonly deadline?: number;
  /** The clock the deadline is read against (epoch ms). Date.now unless a test fakes time. */
  readonly now?: () => number;
  /** Told about every exception a check threw; the step itself only says it failed. */
  readonly onCheckError?: CheckErrorListener;
  /**
   * Aborted when the caller is gone (the call was cancelled, or its deadline passed): the running
   * check's signal is aborted (an HTTP check cancels its request) and no further check starts.
   * The run still ends only once that check has (at the latest at its limit), so its end is the
   * end of the work it started.
   */
  readonly signal?: AbortSignal;
}

/** The detail of a step that was never started because the call's deadline had (nearly) passed. */
export const DEADLINE_BEFORE_STEP_DETAIL = 'call deadline reached before the step could run';

/** The detail of a step that was never started because the call had been cancelled. */
export const CANCELLED_BEFORE_STEP_DETAIL = 'call cancelled before the step could run';

const NO_MESSAGES: readonly ChatMessage[] = Object.freeze([]);

/**
 * How long a run may keep the event loop between two steps before it lets other calls run (see
 * afterIo): a pipeline of slow synchronous steps (a content filter over a large text) then delays
 * a Resolve by at most one step, not the whole pipeline. Cheap steps run back to back; an
 * asynchronous step (an HTTP guardrail) yields by itself.
 */
export const YIELD_AFTER_MS = 1;

/**
 * Resolves once the event loop has polled for I/O, so calls that arrived meanwhile are handled
 * first. One setImmediate is not enough: scheduled from an I/O callback (where a call's handler
 * runs) it fires in the same loop iteration, before the next poll.
 */
function afterIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Runs a pipeline over the input: docs/semantics.md §8 with difference 4. Pure apart
 * from calling the checks; never rejects (every failure is a step outcome).
 * - Steps run in order. The action is on_pass on pass, on_fail on fail, on_error (else on_fail)
 *   on error; allow, block and modify_response end the run, next continues; no step left: allow.
 * - Each check sees the working copy. A passing step's replacement texts become the working copy
 *   only when the step has pass_data (LiteLLM's shallow merge); otherwise they are dropped. The
 *   result's messages (pre_call) or responseText (post_call) are the working copy at the end.
 * - An undefined guardrail, a kind the sidecar cannot execute, a check that throws, and a step out
 *   of time end in error (with a detail that never quotes content).
 * - Once `options.signal` aborts (the caller is gone), the running check's signal is aborted and
 *   every step left ends in error without running: the run ends as soon as that check does, and
 *   starts no more work.
 * - A step's limit is its timeout_ms, else its guardrail's default (0: none), capped by the
 *   deadline less {@link deadlineMarginMs}, so the answer still reaches the caller in time.
 * - Between steps, once the run has held the event loop for {@link YIELD_AFTER_MS}, it yields.
 */
export async function executePipeline(
  snapshot: Snapshot,
  pipeline: PipelineSpec,
  input: PipelineInput,
  options: ExecuteOptions = {},
): Promise<PipelineResult> {
  const now = options.now ?? Date.now;
  const deadline = options.deadline ?? Infinity;
  const cutoff = deadline - deadlineMarginMs(deadline - now());
  const isResponse = pipeline.mode === 'post_call';
  let texts: readonly string[] = isResponse ? [input.responseText ?? ''] : input.messages.map(contentOf);
  let messages = input.messages;
  let isForwarded = false;
  const steps: StepResult[] = [];

  let heldSince = performance.now();
  for (const step of pipeline.steps) {
    if (performance.now() - heldSince >= YIELD_AFTER_MS) {
      await afterIo();
      heldSince = performance.now();
    }
    const guardrail = snapshot.guardrails.get(step.guardrail);
    const started = performance.now();
    let verdict: GuardrailVerdict;
    if (guardrail === undefined) verdict = { outcome: 'error', detail: `Guardrail '${step.guardrail}' not found` };
    else if (guardrail.check === undefined) verdict = notExecutable(guardrail);
    else if (options.signal?.aborted === true) verdict = { outcome: 'error', detail: CANCELLED_BEFORE_STEP_DETAIL };
    else {
      const limit = stepLimit(step, guardrail, cutoff - now());
      if (limit.ms <= 0) verdict = { outcome: 'error', detail: DEADLINE_BEFORE_STEP_DETAIL };
      else {
        const kind = isResponse ? 'response' : 'request';
        const checkInput = new CheckInput(kind, texts, isResponse ? NO_MESSAGES : messages, input.context, input.requestId);
        const pending = runCheck(guardrail, guardrail.check, checkInput, limit, options.onCheckError, options.signal);
        if (pending instanceof Promise) {
          verdict = await pending;
          heldSince = performance.now();
        } else verdict = pending;
      }
    }
    const action = actionFor(step, verdict);
    const detail = verdict.outcome === 'pass' ? '' : verdict.detail;
    steps.push({
      guardrail: step.guardrail,
      kind: guardrail?.kind ?? '',
      outcome: verdict.outcome,
      action,
      detail,
      durationMs: performance.now() - started,
    });
    if (verdict.outcome === 'pass' && step.passData && verdict.texts !== undefined) {
      texts = verdict.texts;
      if (!isResponse) messages = withContents(messages, texts);
      isForwarded = true;
    }
    if (action !== 'next') return finish(action, step, detail);
  }
  return finish('allow', undefined, '');

  function finish(action: TerminalAction, step: PipelineStepSpec | undefined, detail: string): PipelineResult {
    return {
      terminalAction: action,
      steps,
      messages,
      responseText: isResponse && isForwarded ? texts[0] : input.responseText,
      errorMessage: action === 'block' ? detail : '',
      modifyResponseMessage:
        action === 'modify_response' ? step?.modifyResponseMessage || detail || DEFAULT_MODIFY_RESPONSE_MESSAGE : '',
      revision: snapshot.revision,
    };
  }
}

/**
 * How long before the deadline the last step must end: 10% of the time the call has left when it
 * starts, at least 5 ms and at most 250 ms. Room to send the answer, and more: the server's
 * deadline is the client's timeout counted from when the call arrived, so it runs late by however
 * long the call took to arrive (tens of milliseconds on a busy event loop). No deadline: no margin.
 */
export function deadlineMarginMs(remainingMs: number): number {
  if (remainingMs === Infinity) return 0;
  return Math.min(250, Math.max(5, remainingMs * 0.1));
}

function stepLimit(step: PipelineStepSpec, guardrail: CompiledGuardrail, untilCutoffMs: number): StepLimit {
  const own = step.timeoutMs ?? guardrail.timeoutMs;
  const stepMs = own !== undefined && own > 0 ? own : Infinity;
  return stepMs <= untilCutoffMs ? { ms: stepMs, reason: 'step' } : { ms: untilCutoffMs, reason: 'deadline' };
}

function actionFor(step: PipelineStepSpec, verdict: GuardrailVerdict): Action {
  if (verdict.outcome === 'pass') return step.onPass;
  if (verdict.outcome === 'fail') return step.onFail;
  return step.onError ?? step.onFail;
}

function notExecutable(guardrail: CompiledGuardrail): GuardrailVerdict {
  const reason = guardrail.notExecutable === undefined ? '' : `: ${guardrail.notExecutable}`;
  return { outcome: 'error', detail: `guardrail '${guardrail.name}' (kind ${guardrail.kind}) is not executable in the sidecar${reason}` };
}

function contentOf(m: ChatMessage): string {
  return m.content;
}

function withContents(messages: readonly ChatMessage[], texts: readonly string[]): ChatMessage[] {
  return messages.map((m, i) => ({ role: m.role, content: texts[i] ?? m.content }));
}
