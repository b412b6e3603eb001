import type { Logger } from 'pino';
import type { SnapshotHolder } from '../../activation/holder.js';
import type { StepOutcome } from '../../model/pipeline-run.js';
import type { EncodedDecisionServer } from '../convert/encoded.js';
import type { DecisionLog } from './decision-log.js';
import { createExecutePipelineHandler } from './execute-pipeline.js';
import { createResolveHandler } from './resolve.js';
import type { SnapshotMemos } from './resolve-memo.js';
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
  /** Holds a slot of the cap on calls in flight for work that outlives its call (CallLimiter.hold). */
  readonly holdSlot?: () => () => void;
}

/**
 * The DecisionService handlers, one file each (resolve.ts, execute-pipeline.ts, watch.ts), for
 * EncodedDecisionService (requests arrive as bytes, decoded strictly). Each call reads
 * `holder.current()` once, first, so one request never mixes two revisions; no snapshot yet means
 * UNAVAILABLE.
 */
export function createDecisionService({
  holder,
  log,
  watchStreams,
  decisionLog,
  observeStep,
  resolveMemos,
  holdSlot,
}: DecisionServiceOptions): EncodedDecisionServer {
  const serviceLog = log.child({ component: 'decision-service' });
  return {
    resolve: createResolveHandler({ holder, log: serviceLog, decisionLog, memos: resolveMemos }),
    executePipeline: createExecutePipelineHandler({ holder, log: serviceLog, decisionLog, observeStep, holdSlot }),
    watch: (call) => watchStreams.open(call, holder.current()),
  };
}
