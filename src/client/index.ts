// guardrail-pdp/client: the TypeScript client of the sidecar's decision API (docs/clients.md).
// A leaf: it imports nothing of the server or the control path, only the generated code in src/gen.
export { createClient, type CallSettings, type ClientStats, type PdpClient } from './client.js';
export { requestKey, type ResolveRequestInput, type ResolveResult } from './decision-cache.js';
export { GrpcStatus, PdpClientError } from './errors.js';
export { ADDRESS_ENV, DEFAULT_ADDRESS, type CacheOptions, type ClientOptions, type FailMode, type TlsOptions } from './options.js';
export { Action, Mode, Outcome } from '../gen/guardrail/pdp/v1/pipeline.js';
export type {
  ChatMessage,
  ExecutePipelineRequest,
  ExecutePipelineResponse,
  Pipeline,
  PipelineStep,
  StepResult,
} from '../gen/guardrail/pdp/v1/pipeline.js';
export type { RequestContext } from '../gen/guardrail/pdp/v1/context.js';
export type { MatchedPolicy, PolicyPipeline, ResolveRequest, ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';
export { Issue_Severity, WatchEvent_Kind, type Issue, type WatchEvent } from '../gen/guardrail/pdp/v1/watch.js';
