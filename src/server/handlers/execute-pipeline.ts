import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotHolder } from '../../activation/holder.js';
import { CANCELLED_BEFORE_STEP_DETAIL, CANCELLED_DETAIL, executePipeline, type CheckErrorListener } from '../../engine/pipeline.js';
import { pipelineFor } from '../../engine/pipeline-target.js';
import { notReady } from '../../errors.js';
import type { ExecutePipelineRequest, ExecutePipelineResponse } from '../../gen/guardrail/pdp/v1/pipeline.js';
import type { StepOutcome } from '../../model/pipeline-run.js';
import type { PipelineMode } from '../../model/policy.js';
import { decodeExecutePipelineRequest } from '../convert/encoded.js';
import { toExecutePipelineResponse, toPipelineRequest } from '../convert/pipeline.js';
import { toStatus } from '../status.js';
import type { DecisionLog } from './decision-log.js';

/** Details of steps the executor ended because the call was cancelled: not guardrail outcomes. */
const CANCELLED_DETAILS: ReadonlySet<string> = new Set([CANCELLED_DETAIL, CANCELLED_BEFORE_STEP_DETAIL]);

export interface ExecutePipelineHandlerOptions {
  readonly holder: SnapshotHolder;
  /** The component logger: check crashes (type and stack frames only) and errors that are bugs. */
  readonly log: Logger;
  readonly decisionLog?: DecisionLog;
  /** Counts pipeline step outcomes by guardrail kind. */
  readonly observeStep?: (kind: string, outcome: StepOutcome) => void;
  /**
   * Keeps a slot of the cap on calls in flight for work that outlives its call; returns the
   * release (CallLimiter.hold). Without it, a cancelled call's work still stops, but uncounted.
   */
  readonly holdSlot?: () => () => void;
}

/**
 * The ExecutePipeline handler, over the request's bytes (see EncodedDecisionService). It reads
 * `holder.current()` once, first (no snapshot: UNAVAILABLE), decodes and checks the request
 * (INVALID_ARGUMENT naming the field), finds the pipeline (NOT_FOUND for an unknown policy) and
 * runs it within the call's deadline. A block is an answer (OK); steps that fail to run end in
 * ERROR within the answer, never as a call error. When the call ends before the run does (the
 * client cancelled it, or its deadline passed), the run is aborted: the running check's signal
 * fires (an HTTP check cancels its request) and no further check starts; until the run has really
 * ended, it keeps holding a slot of the cap on calls in flight (`holdSlot`). A cancelled run is
 * not a decision: it is not in the decision log, and only the steps that ran to their own end are
 * counted.
 */
export function createExecutePipelineHandler({
  holder,
  log,
  decisionLog,
  observeStep,
  holdSlot,
}: ExecutePipelineHandlerOptions): handleUnaryCall<Buffer, ExecutePipelineResponse> {
  // The step's detail only says the check failed; the cause is logged here, without its message
  // (which may quote the prompt): the error's type and stack frames.
  const onCheckError: CheckErrorListener = (guardrail, err) =>
    log.error({ guardrail: guardrail.name, kind: guardrail.kind, err: framesOnly(err) }, 'guardrail check threw; its step ended in ERROR');
  return (call, callback) => {
    const snapshot = holder.current();
    const callDeadline = call.getDeadline();
    const deadline = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
    let mode: PipelineMode = 'pre_call';
    let message: ExecutePipelineRequest | undefined;
    const cancel = new AbortController();
    let isDone = false;
    let release: (() => void) | undefined;
    // grpc-js emits this when the call ends without our answer (and after our answer too: then
    // isDone is already set and the listener is gone).
    const onCancelled = (): void => {
      if (isDone) return;
      release = holdSlot?.(); // taken in the same tick grpc-js freed the call's own slot
      cancel.abort();
    };
    call.once('cancelled', onCancelled);
    const done = (): void => {
      isDone = true;
      call.off('cancelled', onCancelled);
      release?.();
    };
    Promise.resolve()
      .then(() => {
        if (snapshot === undefined) throw notReady();
        message = decodeExecutePipelineRequest(call.request);
        const request = toPipelineRequest(message);
        const pipeline = pipelineFor(snapshot, request);
        mode = pipeline.mode;
        return executePipeline(snapshot, pipeline, request, { deadline, onCheckError, signal: cancel.signal });
      })
      .then(
        (result) => {
          done();
          const isCancelled = cancel.signal.aborted;
          if (observeStep !== undefined) {
            for (const step of result.steps) if (!isCancelled || !CANCELLED_DETAILS.has(step.detail)) observeStep(step.kind, step.outcome);
          }
          if (decisionLog?.isEnabled === true && message !== undefined && !isCancelled) {
            const { requestId, policyName } = message;
            decisionLog.pipeline({ requestId, revision: result.revision, policyName, mode, terminalAction: result.terminalAction, steps: result.steps });
          }
          callback(null, toExecutePipelineResponse(result));
        },
        (e: unknown) => {
          done();
          callback(toStatus(e, log));
        },
      );
  };
}

function framesOnly(err: unknown): { type: string; stack: string } {
  if (!(err instanceof Error)) return { type: typeof err, stack: '' };
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return { type: err.name, stack: frames.join('\n') };
}
