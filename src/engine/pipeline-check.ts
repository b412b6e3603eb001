import type { RequestContext } from '../model/decision.js';
import type { ChatMessage, CompiledGuardrail, GuardrailCheck, GuardrailInput, GuardrailVerdict } from '../model/guardrail.js';

/** setTimeout fires at once for delays above this (2^31-1 ms, about 24.8 days): clamp to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a step's time limit is what it is: its own timeout, or the call's deadline (which came first). */
export type LimitReason = 'step' | 'deadline';

/** What a step may spend: `ms` (Infinity for no limit) and which limit set it. */
export interface StepLimit {
  readonly ms: number;
  readonly reason: LimitReason;
}

/** Called with every exception a check threw or rejected with, so the server can log the cause. */
export type CheckErrorListener = (guardrail: CompiledGuardrail, error: unknown) => void;

/** The detail of a check that threw: the cause goes to the log, never onto the wire (it may quote the prompt). */
export const CHECK_THREW_DETAIL = 'guardrail check failed unexpectedly; see the sidecar log';

/**
 * What one check sees. The signal is made on first use: synchronous built-in checks never read it,
 * and an AbortController per step would cost more than the check itself. `abort` fires it (now, or
 * when it is first read) once the step's time is up.
 */
export class CheckInput implements GuardrailInput {
  private controller: AbortController | undefined;
  private isAborted = false;

  constructor(
    readonly inputType: 'request' | 'response',
    readonly texts: readonly string[],
    readonly messages: readonly ChatMessage[],
    readonly context: RequestContext,
    readonly requestId: string,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(new Error('the step\'s time is up'));
    }
    return this.controller.signal;
  }

  /** Marks the step's time as up, aborting the signal if a check holds it. */
  abort(): void {
    this.isAborted = true;
    this.controller?.abort(new Error('the step\'s time is up'));
  }
}

/** The detail of a step whose check was stopped because the call was cancelled (the caller is gone). */
export const CANCELLED_DETAIL = 'call cancelled while the step was running';

/**
 * Runs one check within its limit and turns whatever it does into a verdict; never throws or
 * rejects. A synchronous check cannot be interrupted, so it runs to the end whatever its limit (the
 * caller checks the remaining time before). An asynchronous one is raced against a timer set to
 * the limit, which aborts the input's signal (an HTTP check cancels its request), so a check that
 * ignores its signal cannot hold the call past its limit. When `cancel` fires (the caller is gone)
 * the input's signal is aborted too, but the step still ends only when the check does, or at its
 * limit: nobody waits for the answer any more, and the run's end then marks the real end of its
 * work (the server counts the call against its cap until then). Verdicts are checked: a pass must
 * give one replacement per input text.
 */
export function runCheck(
  guardrail: CompiledGuardrail,
  check: GuardrailCheck,
  input: CheckInput,
  limit: StepLimit,
  onError: CheckErrorListener | undefined,
  cancel?: AbortSignal,
): GuardrailVerdict | Promise<GuardrailVerdict> {
  let result: GuardrailVerdict | PromiseLike<GuardrailVerdict>;
  try {
    result = check(input);
  } catch (e) {
    return threw(guardrail, e, onError);
  }
  const inputCount = input.texts.length;
  if (!isThenable(result)) return checked(result, inputCount);
  if (limit.ms === Infinity && cancel === undefined) {
    return Promise.resolve(result).then(
      (v) => checked(v, inputCount),
      (e: unknown) => threw(guardrail, e, onError),
    );
  }
  const pending = Promise.resolve(result);
  return new Promise<GuardrailVerdict>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let isCancelled = false;
    const settle = (verdict: GuardrailVerdict): void => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      resolve(isCancelled ? { outcome: 'error', detail: CANCELLED_DETAIL } : verdict);
    };
    const onCancel = (): void => {
      isCancelled = true;
      input.abort();
    };
    if (cancel?.aborted === true) onCancel();
    else cancel?.addEventListener('abort', onCancel, { once: true });
    if (limit.ms !== Infinity) {
      timer = setTimeout(() => {
        input.abort();
        settle({ outcome: 'error', detail: timeoutDetail(limit) });
      }, Math.max(0, Math.min(limit.ms, MAX_TIMER_MS)));
    }
    pending.then(
      (v) => settle(checked(v, inputCount)),
      // After the step is over a late rejection is still worth logging (resolve is then a no-op).
      (e: unknown) => settle(threw(guardrail, e, onError)),
    );
  });
}

/** The error detail of a step stopped by its limit. */
export function timeoutDetail(limit: StepLimit): string {
  return limit.reason === 'step'
    ? `step timed out after ${limit.ms} ms`
    : `call deadline reached while the step was running (after ${Math.round(limit.ms)} ms)`;
}

function isThenable(v: unknown): v is PromiseLike<GuardrailVerdict> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function threw(guardrail: CompiledGuardrail, e: unknown, onError: CheckErrorListener | undefined): GuardrailVerdict {
  onError?.(guardrail, e);
  return { outcome: 'error', detail: CHECK_THREW_DETAIL };
}

// A verdict from a check is data from outside the engine's control: never trust its shape.
function checked(v: unknown, inputCount: number): GuardrailVerdict {
  if (typeof v !== 'object' || v === null) return invalid();
  const { outcome } = v as { outcome?: unknown };
  if (outcome === 'fail' || outcome === 'error') {
    const detail = (v as { detail?: unknown }).detail;
    return typeof detail === 'string' ? (v as GuardrailVerdict) : { outcome, detail: '' };
  }
  if (outcome !== 'pass') return invalid();
  const texts = (v as { texts?: unknown }).texts;
  if (texts === undefined) return v as GuardrailVerdict;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) return invalid();
  if (texts.length !== inputCount) {
    return { outcome: 'error', detail: `guardrail returned ${texts.length} replacement texts for ${inputCount} inputs` };
  }
  return v as GuardrailVerdict;
}

function invalid(): GuardrailVerdict {
  return { outcome: 'error', detail: 'guardrail returned an invalid verdict' };
}
