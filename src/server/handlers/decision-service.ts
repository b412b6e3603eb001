import type { Logger } from 'pino';
import type { SnapshotHolder } from '../../activation/holder.js';
import { executePipeline, type CheckErrorListener } from '../../engine/pipeline.js';
import { pipelineFor } from '../../engine/pipeline-target.js';
import { toExecutePipelineResponse, toPipelineRequest } from '../convert/pipeline.js';
import type { StepOutcome } from '../../model/pipeline-run.js';
import type { PipelineMode } from '../../model/policy.js';
import type { DecisionLog } from './decision-log.js';
import type { EncodedDecisionServer } from '../convert/encoded.js';
import { createResolveHandler, notReady } from './resolve.js';
import type { SnapshotMemos } from './resolve-memo.js';
import { toStatus } from '../status.js';
import type { WatchStreams } from './watch.js';

export interface DecisionServiceOptions {
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  /** Where Watch calls are registered; it delivers activation events and ends them on shutdown. */
  readonly watchStreams: WatchStreams;
  /** The sampled decision log; none means off. */
  readonly decisionLog?: DecisionLog;
  /** Counts pipeline step outcomes by guardrail kind. */
  readonly observeStep?: (kind: string, outcome: StepOutcome) => void;
  /** Memos of Resolve's encoded answers, one per snapshot; none means no memo. */
  readonly resolveMemos?: SnapshotMemos;
}

/**
 * The DecisionService handlers, for EncodedDecisionService (Resolve over bytes, see
 * resolve-handler.ts). Each call reads `holder.current()` once, first, so one request never mixes
 * two revisions; no snapshot yet means UNAVAILABLE.
 */
export function createDecisionService({
  holder,
  log,
  watchStreams,
  decisionLog,
  observeStep,
  resolveMemos,
}: DecisionServiceOptions): EncodedDecisionServer {
  const serviceLog = log.child({ component: 'decision-service' });
  // The step's detail only says the check failed; the cause is logged here, without its message
  // (which may quote the prompt): the error's type and stack frames.
  const onCheckError: CheckErrorListener = (guardrail, err) =>
    serviceLog.error({ guardrail: guardrail.name, kind: guardrail.kind, err: framesOnly(err) }, 'guardrail check threw; its step ended in ERROR');
  return {
    resolve: createResolveHandler({ holder, log: serviceLog, decisionLog, memos: resolveMemos }),
    executePipeline(call, callback) {
      const snapshot = holder.current();
      const callDeadline = call.getDeadline();
      const deadline = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
      let mode: PipelineMode = 'pre_call';
      Promise.resolve()
        .then(() => {
          if (snapshot === undefined) throw notReady();
          const request = toPipelineRequest(call.request);
          const pipeline = pipelineFor(snapshot, request);
          mode = pipeline.mode;
          return executePipeline(snapshot, pipeline, request, { deadline, onCheckError });
        })
        .then(
          (result) => {
            if (observeStep !== undefined) for (const step of result.steps) observeStep(step.kind, step.outcome);
            if (decisionLog?.isEnabled === true) {
              const { requestId, policyName } = call.request;
              decisionLog.pipeline({ requestId, revision: result.revision, policyName, mode, terminalAction: result.terminalAction, steps: result.steps });
            }
            callback(null, toExecutePipelineResponse(result));
          },
          (e: unknown) => callback(toStatus(e, serviceLog)),
        );
    },
    watch(call) {
      watchStreams.open(call, holder.current());
    },
  };
}

function framesOnly(err: unknown): { type: string; stack: string } {
  if (!(err instanceof Error)) return { type: typeof err, stack: '' };
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return { type: err.name, stack: frames.join('\n') };
}
