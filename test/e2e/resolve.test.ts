import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { Action, Mode } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../src/gen/health/v1/health.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';

const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;

/** A Unix socket file at `path` whose process was killed (closing a server would remove it). */
function leaveStaleSocket(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  expect(statSync(path).isSocket()).toBe(true);
}

describe('Resolve over gRPC, against the example bundle', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startApp(EXAMPLE);
  });
  afterAll(async () => {
    await s.stop();
  });

  it('answers the README quick-start question: a health team on gpt-4', async () => {
    const res = await callResolve(s.client, { context: { teamAlias: 'health-team', model: 'gpt-4', tags: [] } });
    expect(res.appliedPolicies).toEqual(['global-baseline', 'healthcare-compliance', 'gpt4-pipeline']);
    expect(res.guardrails).toEqual(['hipaa_audit', 'pii_masking', 'prompt_injection']);
    expect(res.matchedPolicies.map((m) => [m.policyName, m.matchedVia, m.applied])).toEqual([
      ['global-baseline', 'scope:*', true],
      ['healthcare-compliance', 'team:health-team', true],
      ['gpt4-pipeline', 'model:gpt-4', true],
    ]);
    expect(res.matchedPolicies[1]?.inheritanceChain).toEqual(['global-baseline', 'healthcare-compliance']);
    expect(res.matchedPolicies[1]?.guardrails).toEqual(['hipaa_audit', 'pii_masking']);
    expect(res.pipelines).toHaveLength(1);
    expect(res.pipelines[0]?.policyName).toBe('gpt4-pipeline');
    expect(res.pipelines[0]?.pipeline?.mode).toBe(Mode.PRE_CALL);
    expect(res.pipelines[0]?.pipeline?.steps.map((st) => [st.guardrail, st.onPass, st.onFail, st.onError])).toEqual([
      ['secrets_filter', Action.NEXT, Action.BLOCK, Action.ACTION_UNSPECIFIED],
      ['vendor_check', Action.ALLOW, Action.MODIFY_RESPONSE, Action.NEXT],
    ]);
    expect(res.pipelineManagedGuardrails).toEqual(['secrets_filter', 'vendor_check']);
    expect(res.headers).toEqual({
      'x-litellm-applied-policies': 'global-baseline,healthcare-compliance,gpt4-pipeline',
      'x-litellm-policy-sources': 'global-baseline=scope:*; healthcare-compliance=team:health-team; gpt4-pipeline=model:gpt-4',
    });
    expect(res.revision).toMatch(/^[0-9a-f]{16}$/);
  });

  it('answers a request with no context with the global policy only', async () => {
    const res = await callResolve(s.client, {});
    expect(res.appliedPolicies).toEqual(['global-baseline']);
    expect(res.guardrails).toEqual(['pii_masking', 'prompt_injection']);
  });

  it('adds the guardrails of a policy named by the request', async () => {
    const res = await callResolve(s.client, { context: { tags: [] }, requestPolicies: ['strict-mode'] });
    expect(res.appliedPolicies).toEqual(['global-baseline', 'strict-mode']);
    expect(res.guardrails).toEqual(['pii_masking', 'prompt_injection', 'toxicity_filter']);
  });

  it('rejects an empty policy name with INVALID_ARGUMENT naming the field', async () => {
    const err = (await callResolve(s.client, { requestPolicies: ['ok', ''] }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('request_policies[1] is empty; give a policy name');
  });

  it('rejects an oversized model with INVALID_ARGUMENT without echoing it', async () => {
    const model = `secret-${'x'.repeat(5000)}`;
    const err = (await callResolve(s.client, { context: { model, tags: [] } }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('context.model');
    expect(err.details).not.toContain('secret-');
  });

  it('reports SERVING on grpc.health.v1 once the snapshot is active', async () => {
    const health = new HealthClient(s.grpcAddress, credentials.createInsecure());
    const res = await new Promise<{ status: HealthCheckResponse_ServingStatus }>((resolve, reject) =>
      health.check({ service: 'guardrail.pdp.v1.DecisionService' }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    health.close();
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('serves /readyz and /healthz on the admin listener', async () => {
    expect((await fetch(`http://${s.adminAddress}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${s.adminAddress}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${s.adminAddress}/other`)).status).toBe(404);
    const metrics = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    expect(metrics).toContain('pdp_activations_total{result="activated"} 1');
  });
});

describe('listening', () => {
  it('serves over a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-sock-'));
    const path = join(dir, 'pdp.sock');
    const s = await startApp(EXAMPLE, { listen: { kind: 'unix', path } });
    try {
      expect(s.grpcAddress).toBe(`unix://${path}`);
      const res = await callResolve(s.client, { context: { keyAlias: 'dev-key-7', tags: [] } });
      expect(res.appliedPolicies).toEqual(['global-baseline', 'legacy-style']);
      expect(res.matchedPolicies[1]?.matchedVia).toBe('key:dev-key-7');
    } finally {
      await s.stop();
    }
  });

  it('creates the socket with its mode (0660 unless told), replacing stale socket files, and removes it on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-sock-'));
    const path = join(dir, 'pdp.sock');
    // A sidecar killed while binding leaves its socket and its private staging directory behind.
    leaveStaleSocket(path);
    mkdirSync(join(dir, '.pdp.sock.bind-Ab12Cd'), { mode: 0o700 });
    leaveStaleSocket(join(dir, '.pdp.sock.bind-Ab12Cd', 's'));
    for (const [mode, expected] of [[undefined, 0o660], [0o666, 0o666], [0o600, 0o600]] as const) {
      const s = await startApp(EXAMPLE, { listen: { kind: 'unix', path, ...(mode === undefined ? {} : { mode }) } });
      try {
        expect(statSync(path).mode & 0o777).toBe(expected);
        expect(readdirSync(dir)).toEqual(['pdp.sock']);
        expect((await callResolve(s.client, {})).appliedPolicies).toEqual(['global-baseline']);
      } finally {
        await s.stop();
      }
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('refuses to listen where a file that is not a socket is in the way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-sock-'));
    const path = join(dir, 'pdp.sock');
    writeFileSync(path, 'not a socket');
    const err = (await startApp(EXAMPLE, { listen: { kind: 'unix', path } }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(`cannot listen on unix://${path}: a file that is not a socket is in the way`);
    expect(readFileSync(path, 'utf8')).toBe('not a socket');
  });

  it('refuses to start on a bundle with errors, naming every issue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-bad-'));
    const bundle = join(dir, 'bad.yaml');
    writeFileSync(bundle, 'policies:\n  a: { inherit: missing }\n  b: { inherit: also-missing }\n');
    const err = (await startApp(bundle).catch((e: unknown) => e)) as { code: string; issues: { rule: string }[] };
    expect(err.code).toBe('BUNDLE_INVALID');
    expect(err.issues.filter((i) => i.rule === 'invalid_inheritance')).toHaveLength(2);
  });
});
