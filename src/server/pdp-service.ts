import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotHolder } from '../activation/holder.js';
import { resolve } from '../engine/resolve.js';
import { PdpError } from '../errors.js';
import type { DecisionServiceServer } from '../gen/guardrail/pdp/v1/decision_service.js';
import { toResolveRequest, toResolveResponse } from './convert.js';
import { toStatus } from './status.js';
import type { WatchStreams } from './watch.js';

export interface DecisionServiceOptions {
  readonly holder: SnapshotHolder;
  readonly log: Logger;
  /** Where Watch calls are registered; it delivers activation events and ends them on shutdown. */
  readonly watchStreams: WatchStreams;
}

/**
 * The DecisionService handlers. Each call reads `holder.current()` once, first, so one request
 * never mixes two revisions; no snapshot yet means UNAVAILABLE.
 */
export function createDecisionService({ holder, log, watchStreams }: DecisionServiceOptions): DecisionServiceServer {
  const serviceLog = log.child({ component: 'decision-service' });
  return {
    resolve(call, callback) {
      const snapshot = holder.current();
      try {
        if (snapshot === undefined) throw notReady();
        callback(null, toResolveResponse(resolve(snapshot, toResolveRequest(call.request))));
      } catch (e) {
        callback(toStatus(e, serviceLog));
      }
    },
    executePipeline(_call, callback) {
      callback({ code: status.UNIMPLEMENTED, details: 'ExecutePipeline is not available in this version of guardrail-pdp' });
    },
    watch(call) {
      watchStreams.open(call, holder.current());
    },
  };
}

function notReady(): PdpError {
  return new PdpError('NOT_READY', 'no policy snapshot is active yet; retry once the sidecar reports SERVING');
}
