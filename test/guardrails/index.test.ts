import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions, type CompileResult } from '../../src/compile/compile.js';
import { executePipeline } from '../../src/engine/pipeline.js';
import { pipelineFor } from '../../src/engine/pipeline-target.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { finish } from '../../src/steps.js';
import { bundleFromYaml } from '../helpers/bundle.js';
import { pipelineInput } from '../helpers/pipeline.js';

function compiled(yaml: string, options: Partial<CompileOptions> = {}): CompileResult {
  return finish(compile(bundleFromYaml(yaml), { mode: 'strict', ...options }));
}

function snapshotOf(yaml: string, options: Partial<CompileOptions> = {}): Snapshot {
  const result = compiled(yaml, options);
  if (!result.ok) throw new Error(result.issues.map((i) => i.message).join('\n'));
  return result.snapshot;
}

const IMAGE_FILTER = `guardrails:
  - guardrail_name: cf
    litellm_params:
      guardrail: litellm_content_filter
      image_model: gpt-4o
      experimental_use_latest_role_message_only: true
      blocked_words: [{keyword: secret, action: BLOCK}]
  - guardrail_name: pii
    litellm_params: {guardrail: presidio}
policies:
  p:
    guardrails: {add: [cf]}
    pipeline:
      steps:
        - {guardrail: cf, on_error: next, on_pass: allow}
policy_attachments:
  - {policy: p, scope: "*"}
`;

describe('guardrails the sidecar cannot execute', () => {
  it('load in strict mode with exactly one warning per guardrail, located at the first setting and naming every one', () => {
    const result = compiled(IMAGE_FILTER);
    expect(result.ok).toBe(true);
    const notExecutable = result.issues.filter((i) => i.rule === 'not_executable');
    expect(notExecutable).toEqual([
      expect.objectContaining({ severity: 'warning', path: 'guardrails[0].litellm_params.image_model', line: 5 }),
    ]);
    expect(notExecutable[0]?.message).toContain("guardrail 'cf' (litellm_content_filter): not executable in the sidecar: image_model");
    expect(notExecutable[0]?.message).toContain('experimental_use_latest_role_message_only');
  });

  it('end their pipeline steps in ERROR with the reason, and on_error applies', async () => {
    const snapshot = snapshotOf(IMAGE_FILTER);
    const request = { ...pipelineInput({ messages: [{ role: 'user', content: 'a secret' }] }), target: { kind: 'policy' as const, policyName: 'p' }, mode: undefined };
    const result = await executePipeline(snapshot, pipelineFor(snapshot, request), request, {});
    expect(result.steps[0]).toMatchObject({ outcome: 'error', action: 'next' });
    expect(result.steps[0]?.detail).toMatch(/^guardrail 'cf' \(kind litellm_content_filter\) is not executable in the sidecar: image_model: /);
    expect(result.terminalAction).toBe('allow');
  });

  it('are errors with --require-executable, unknown kinds included', () => {
    const result = compiled(IMAGE_FILTER, { requireExecutable: true });
    expect(result.ok).toBe(false);
    expect(result.issues.filter((i) => i.severity === 'error').map((i) => [i.rule, i.path])).toEqual([
      ['not_executable', 'guardrails[0].litellm_params.image_model'],
      ['not_executable', 'guardrails[1].litellm_params.guardrail'],
    ]);
    expect(result.issues.map((i) => i.message).join('\n')).toContain('kind presidio');
  });
});

describe('os.environ/ values', () => {
  const MARKER = 'http://127.0.0.1:1/marker-7f3a9c';

  it('resolve from the lookup; a missing variable is an error for a kind the sidecar runs and a warning for the others', () => {
    const yaml = `guardrails:
  - guardrail_name: vendor
    litellm_params: {guardrail: generic_guardrail_api, api_base: os.environ/VENDOR_BASE}
  - guardrail_name: lakera
    litellm_params: {guardrail: lakera_v2, api_key: os.environ/LAKERA_KEY, api_base: os.environ/LAKERA_BASE}
policies: {}
`;
    const missing = compiled(yaml);
    expect(missing.issues.map((i) => [i.severity, i.rule, i.path, i.message.match(/variable (\w+)/)?.[1]])).toEqual([
      ['error', 'missing_env_var', 'guardrails[0].litellm_params.api_base', 'VENDOR_BASE'],
      ['warning', 'missing_env_var', 'guardrails[1].litellm_params.api_key', 'LAKERA_KEY'],
      ['warning', 'missing_env_var', 'guardrails[1].litellm_params.api_base', 'LAKERA_BASE'],
    ]);
    const env: Record<string, string> = { VENDOR_BASE: MARKER, LAKERA_KEY: 'k', LAKERA_BASE: 'b' };
    const found = compiled(yaml, { lookupEnv: (name) => env[name] });
    expect(found.ok && found.issues).toEqual([]);
  });

  it('never show their values in issues or step details', async () => {
    const yaml = `guardrails:
  - guardrail_name: vendor
    litellm_params: {guardrail: generic_guardrail_api, api_base: os.environ/VENDOR_BASE, timeout: 2}
  - guardrail_name: cf
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{pattern_type: regex, pattern: os.environ/BAD_PATTERN, action: BLOCK}]
policies:
  p:
    guardrails: {add: [vendor]}
    pipeline: {steps: [{guardrail: vendor}]}
`;
    const env: Record<string, string> = { VENDOR_BASE: MARKER, BAD_PATTERN: 'marker-7f3a9c(' };
    const bad = compiled(yaml, { lookupEnv: (name) => env[name] });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad.issues)).not.toContain('marker-7f3a9c');
    expect(JSON.stringify(bad.issues)).toContain('os.environ/BAD_PATTERN');

    env.BAD_PATTERN = 'x+y';
    const snapshot = snapshotOf(yaml, { lookupEnv: (name) => env[name] });
    const request = { ...pipelineInput({ messages: [{ role: 'user', content: 'hi' }] }), target: { kind: 'policy' as const, policyName: 'p' }, mode: undefined };
    const result = await executePipeline(snapshot, pipelineFor(snapshot, request), request, {});
    expect(result.steps[0]?.outcome).toBe('error');
    expect(result.steps[0]?.detail).toContain('os.environ/VENDOR_BASE');
    expect(JSON.stringify(result)).not.toContain('marker-7f3a9c');
  });
});
