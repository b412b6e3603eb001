import { executePipeline, type CheckErrorListener } from '../engine/pipeline.js';
import { pipelineFor } from '../engine/pipeline-target.js';
import { resolve } from '../engine/resolve.js';
import type { ResolveRequest } from '../model/decision.js';
import type { PipelineRequest } from '../model/pipeline-run.js';
import type { Snapshot } from '../model/snapshot.js';
import { toExecutePipelineResponseJson } from '../server/convert/pipeline.js';
import { toResolveResponseJson } from '../server/convert/resolve.js';

// The engine as the offline commands run it (`resolve`, `pipeline`, `test`): the server's own
// functions over a compiled snapshot, answers in proto3 JSON (what grpcurl prints).

/** Answers one Resolve from `snapshot`, as the Resolve handler does; the ResolveResponse in proto3 JSON. */
export function resolveOffline(snapshot: Snapshot, request: ResolveRequest): unknown {
  return toResolveResponseJson(resolve(snapshot, request));
}

/**
 * Runs one pipeline over `snapshot`, as ExecutePipeline does (no deadline; step timeouts apply;
 * HTTP guardrails are called); the ExecutePipelineResponse in proto3 JSON. Throws PdpError
 * (UNKNOWN_POLICY, INVALID_REQUEST) when the snapshot has no such pipeline or guardrail.
 */
export async function executePipelineOffline(snapshot: Snapshot, request: PipelineRequest, onCheckError: CheckErrorListener): Promise<unknown> {
  const result = await executePipeline(snapshot, pipelineFor(snapshot, request), request, { onCheckError });
  return toExecutePipelineResponseJson(result);
}

/**
 * Reports a guardrail check that threw (its step ends in ERROR) on `err`: the guardrail, its kind
 * and the error's type, never its message, which may quote the prompt.
 */
export function reportCheckErrors(err: NodeJS.WritableStream): CheckErrorListener {
  return (guardrail, e) => err.write(`guardrail '${guardrail.name}' (kind ${guardrail.kind}) threw ${e instanceof Error ? e.name : typeof e}\n`);
}
