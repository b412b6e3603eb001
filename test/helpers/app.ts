import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { createApp, type App, type AppConfig } from '../../src/app.js';
import type { SourceConfig } from '../../src/sources/create-source.js';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import type { ExecutePipelineRequest, ExecutePipelineResponse } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import type { ResolveRequest, ResolveResponse } from '../../src/gen/guardrail/pdp/v1/resolve.js';
import type { ValidationMode } from '../../src/model/policy.js';
import type { ListenAddress } from '../../src/server/listen-address.js';

export interface Started {
  readonly app: App;
  readonly grpcAddress: string;
  readonly adminAddress: string;
  readonly client: DecisionServiceClient;
  stop(): Promise<void>;
}

/** Starts the real app on 127.0.0.1:0 (admin too) and connects a real gRPC client. */
export async function startApp(
  bundle: string,
  opts: {
    mode?: ValidationMode;
    listen?: ListenAddress;
    source?: SourceConfig;
    /** Defaults to a silent logger. */
    log?: Logger;
    /** Config fields to override (decision log, max in flight, TLS, grace period...). */
    config?: Partial<AppConfig>;
    /** For the test client; insecure by default. */
    clientCredentials?: ChannelCredentials;
  } = {},
): Promise<Started> {
  const app = createApp(
    {
      source: opts.source ?? { kind: 'bundle', path: bundle },
      debounceMs: 50,
      mode: opts.mode ?? 'strict',
      listen: opts.listen ?? { kind: 'tcp', host: '127.0.0.1', port: 0 },
      adminListen: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent',
      shutdownGraceMs: 1000,
      ...opts.config,
    },
    { log: opts.log ?? pino({ level: 'silent' }) },
  );
  const { grpcAddress, adminAddress } = await app.start();
  const client = new DecisionServiceClient(grpcAddress, opts.clientCredentials ?? credentials.createInsecure());
  return {
    app,
    grpcAddress,
    adminAddress,
    client,
    async stop() {
      client.close();
      await app.stop();
    },
  };
}

/** Calls Resolve and resolves to the response (rejects with the ServiceError). */
export function callResolve(client: DecisionServiceClient, request: Partial<ResolveRequest>): Promise<ResolveResponse> {
  const full: ResolveRequest = { context: undefined, requestPolicies: [], keyPolicies: [], teamPolicies: [], ...request };
  return new Promise((resolve, reject) => client.resolve(full, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Calls ExecutePipeline (with a deadline `deadlineMs` from now, if given) and resolves to the response. */
export function callExecutePipeline(
  client: DecisionServiceClient,
  request: Partial<ExecutePipelineRequest>,
  deadlineMs?: number,
): Promise<ExecutePipelineResponse> {
  const full: ExecutePipelineRequest = { mode: 0, messages: [], context: undefined, requestId: '', ...request };
  const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise((resolve, reject) =>
    client.executePipeline(full, new Metadata(), options, (err, res) => (err ? reject(err) : resolve(res))),
  );
}
