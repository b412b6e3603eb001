import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotHolder } from '../../activation/holder.js';
import { resolve } from '../../engine/resolve.js';
import { createDecisionEncoder, readResolveRequest } from '../convert/resolve-bytes.js';
import type { DecisionLog } from './decision-log.js';
import { MAX_MEMO_KEY_BYTES, type SnapshotMemos } from './resolve-memo.js';
import { STATUS, toStatus } from '../status.js';

export interface ResolveHandlerOptions {
  readonly holder: SnapshotHolder;
  /** The component logger for errors that are bugs. */
  readonly log: Logger;
  readonly decisionLog?: DecisionLog;
  /** Per-snapshot memos of encoded answers; none means every call is resolved and encoded. */
  readonly memos?: SnapshotMemos;
}

/**
 * The Resolve handler over raw bytes (see EncodedDecisionService). It reads `holder.current()`
 * once; a request whose exact bytes were answered before by the same snapshot gets the same
 * encoded answer back without decoding, resolving or encoding, and the decision log still sees
 * the memoized decision. Only successful answers are memoized, so a bad request (bytes that do
 * not decode strictly, or values out of bounds: INVALID_ARGUMENT) is checked, and refused, every
 * time.
 */
export function createResolveHandler({ holder, log, decisionLog, memos }: ResolveHandlerOptions): handleUnaryCall<Buffer, Buffer> {
  const encode = createDecisionEncoder();
  return (call, callback) => {
    const snapshot = holder.current();
    if (snapshot === undefined) return callback(STATUS.NOT_READY);
    const bytes = call.request;
    // Oversized requests skip the memo: their key would cost more than it saves.
    const found = bytes.length <= MAX_MEMO_KEY_BYTES ? memos?.for(snapshot) : undefined;
    const memo = found !== undefined && found.maxEntries > 0 ? found : undefined;
    const key = memo === undefined ? '' : bytes.toString('latin1');
    const hit = memo?.get(key);
    if (hit !== undefined) {
      if (hit.logged !== undefined) decisionLog?.resolve(hit.logged.request, hit.logged.decision);
      return callback(null, hit.bytes);
    }
    try {
      // Only bytes that decode strictly reach the memo below, so a hit above never re-checks.
      const request = readResolveRequest(bytes);
      const decision = resolve(snapshot, request);
      decisionLog?.resolve(request, decision);
      const answer = encode(decision);
      // The answer is a slice of Node's shared buffer pool; a kept copy must not pin a whole slab.
      if (memo?.shouldStore(key) === true) memo.set(key, { bytes: ownCopy(answer), logged: decisionLog?.isEnabled === true ? { request, decision } : undefined });
      callback(null, answer);
    } catch (e) {
      callback(toStatus(e, log));
    }
  };
}

/** A copy of `bytes` in a buffer of its own (outside Node's pool). */
function ownCopy(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
