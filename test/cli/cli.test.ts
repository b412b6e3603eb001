import { spawn } from 'node:child_process';
import { credentials } from '@grpc/grpc-js';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { callResolve } from '../helpers/app.js';
import { cli as run, EXAMPLE, MAIN } from '../helpers/cli.js';

const cli = (...args: string[]) => run(args);
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-cli-')), name);
  writeFileSync(path, text);
  return path;
}

describe('guardrail-pdp validate', () => {
  it('exits 0 and summarises a valid bundle', async () => {
    const r = await cli('validate', EXAMPLE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(6 policies, 5 attachments, 6 guardrails; 0 errors, 0 warnings; mode strict; revision [0-9a-f]{16}\)/);
  });

  it('exits 1 and prints every issue with file, line and rule', async () => {
    const bundle = tempFile('bad.yaml', 'policies:\n  a:\n    inherit: nope\n  b:\n    inherit: gone\n');
    const r = await cli('validate', bundle);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bundle}:3:14: error invalid_inheritance: Parent policy 'nope' not found [policies.a.inherit]`);
    expect(r.stdout).toContain(`${bundle}:5:14: error invalid_inheritance: Parent policy 'gone' not found [policies.b.inherit]`);
    expect(r.stdout).toContain('invalid (2 errors, 0 warnings; mode strict)');
  });

  it('accepts in compat mode what strict mode rejects, reporting warnings', async () => {
    const bundle = tempFile('compat.yaml', 'policies:\n  a:\n    inherit: nope\n');
    const r = await cli('validate', bundle, '--mode', 'compat');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('warning invalid_inheritance');
  });

  it('exits 2 for an unparseable file, with the line', async () => {
    const bundle = tempFile('broken.yaml', 'policies:\n  a: [unclosed\n');
    const r = await cli('validate', bundle);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/broken\.yaml:\d+:\d+: error unparseable/);
  });

  it('exits 2 for a missing file', async () => {
    const r = await cli('validate', '/nonexistent/bundle.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/nonexistent/bundle.yaml');
  });

  it('exits 2 for an unknown mode', async () => {
    const r = await cli('validate', EXAMPLE, '--mode', 'lenient');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'lenient' is not a mode");
  });
});

describe('guardrail-pdp resolve', () => {
  it('prints the ResolveResponse as proto3 JSON for one context', async () => {
    const r = await cli('resolve', '--bundle', EXAMPLE, '--context', '{"team_alias":"health-team","model":"gpt-4"}');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.guardrails).toEqual(['hipaa_audit', 'pii_masking', 'prompt_injection']);
    expect(out.appliedPolicies).toEqual(['global-baseline', 'healthcare-compliance', 'gpt4-pipeline']);
    expect(out.matchedPolicies[1]).toEqual({
      policyName: 'healthcare-compliance',
      matchedVia: 'team:health-team',
      applied: true,
      guardrails: ['hipaa_audit', 'pii_masking'],
      inheritanceChain: ['global-baseline', 'healthcare-compliance'],
    });
    expect(out.pipelines[0].pipeline.steps[0]).toEqual({ guardrail: 'secrets_filter', onPass: 'NEXT', onFail: 'BLOCK', passData: true });
    expect(out.headers['x-litellm-policy-sources']).toContain('healthcare-compliance=team:health-team');
  });

  it('adds policies named by flags', async () => {
    const r = await cli('resolve', '--bundle', EXAMPLE, '--context', '{}', '--key-policy', 'strict-mode');
    expect(JSON.parse(r.stdout).appliedPolicies).toEqual(['global-baseline', 'strict-mode']);
  });

  it('prints one line per JSONL context, accepting contexts or whole requests', async () => {
    const file = tempFile(
      'contexts.jsonl',
      '{"key_alias":"dev-key-1"}\n\n{"context":{"tags":["provider-x"],"model":"anthropic/claude"},"request_policies":["strict-mode"]}\n',
    );
    const r = await cli('resolve', '--bundle', EXAMPLE, '--contexts', file);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].appliedPolicies).toEqual(['global-baseline', 'legacy-style']);
    expect(lines[1].appliedPolicies).toEqual(['global-baseline', 'anthropic-only', 'strict-mode']);
    expect(lines[1].matchedPolicies[1].matchedVia).toBe('tag:provider-x');
  });

  it('rejects a context with an unknown field, naming it', async () => {
    const r = await cli('resolve', '--bundle', EXAMPLE, '--context', '{"team":"x"}');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown field 'team'");
  });

  it('names the JSONL line that is not JSON', async () => {
    const file = tempFile('bad.jsonl', '{"model":"a"}\n{oops\n');
    const r = await cli('resolve', '--bundle', EXAMPLE, '--contexts', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:2 is not valid JSON`);
  });

  it('exits non-zero with the issues on stderr when the bundle is invalid', async () => {
    const bundle = tempFile('bad.yaml', 'policies:\n  a: { inherit: nope }\n');
    const r = await cli('resolve', '--bundle', bundle, '--context', '{}');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("Parent policy 'nope' not found");
  });
});

describe('guardrail-pdp serve', () => {
  it('reports every bad option at once and exits 2', async () => {
    const r = await cli('serve', '--listen', 'nowhere', '--admin-listen', 'unix:///tmp/x.sock', '--mode', 'loose');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give exactly one of --bundle (PDP_BUNDLE) or --db (PDP_DB)');
    expect(r.stderr).toContain("--listen: 'nowhere' is not a listen address");
    expect(r.stderr).toContain('--admin-listen: must be host:port');
    expect(r.stderr).toContain("--mode: 'loose' is not a mode");
  });

  it('documents every option in --help', async () => {
    const r = await cli('serve', '--help');
    expect(r.code).toBe(0);
    for (const opt of ['--bundle', '--mode', '--listen', '--admin-listen', '--log-level', 'PDP_BUNDLE', 'PDP_LISTEN'])
      expect(r.stdout).toContain(opt);
  });

  it('exits 1 with the issues when the bundle is invalid at startup', async () => {
    const bundle = tempFile('bad.yaml', 'policies:\n  a: { inherit: nope }\n');
    const r = await cli('serve', '--bundle', bundle, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Parent policy 'nope' not found");
  });

  it('serves the bundle until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--bundle', EXAMPLE, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
      env: { ...process.env, PDP_LOG_LEVEL: 'info' },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const line of buffered.split('\n')) {
          const m = /"address":"([^"]+)","msg":"decision API listening"/.exec(line);
          if (m) resolve(m[1] as string);
        }
      });
      void exited.then(() => reject(new Error('serve exited before listening')));
    });
    const client = new DecisionServiceClient(address, credentials.createInsecure());
    const res = await callResolve(client, { context: { teamAlias: 'health-team', model: 'gpt-4', tags: [] } });
    client.close();
    expect(res.appliedPolicies).toContain('healthcare-compliance');
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  });
});

describe('LiteLLM configs: --require-executable, --content-filter-categories and os.environ/ values', () => {
  const FIXTURES = new URL('../fixtures/bundles/', import.meta.url).pathname;
  const presidio = () => tempFile('b.yaml', 'guardrails:\n  - {guardrail_name: pii, litellm_params: {guardrail: presidio}}\npolicies: {}\n');

  it('validate accepts a guardrail the sidecar cannot run, and refuses it with --require-executable or PDP_REQUIRE_EXECUTABLE', async () => {
    const bundle = presidio();
    expect((await cli('validate', bundle)).code).toBe(0);
    const flagged = await cli('validate', bundle, '--require-executable');
    expect(flagged.code).toBe(1);
    expect(flagged.stdout).toContain("error not_executable: guardrail 'pii' (presidio): not executable in the sidecar");
    expect((await run(['validate', bundle], { PDP_REQUIRE_EXECUTABLE: 'true' })).code).toBe(1);
  });

  it('validate reads built-in categories from --content-filter-categories', async () => {
    const file = `${FIXTURES}litellm-docs/content-filter-categories.yaml`;
    expect((await cli('validate', file)).stdout).toContain('warning not_executable');
    const r = await cli('validate', file, '--content-filter-categories', `${FIXTURES}litellm-categories`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 errors, 0 warnings');
  });

  const MARKER = 'marker-5d1e0b';
  const vendor = () =>
    tempFile(
      'v.yaml',
      `guardrails:
  - guardrail_name: vendor
    litellm_params: {guardrail: generic_guardrail_api, api_base: os.environ/VENDOR_BASE, api_key: os.environ/VENDOR_KEY, timeout: 2}
  - guardrail_name: cf
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{pattern_type: regex, pattern: os.environ/VENDOR_PATTERN, action: MASK}]
policies:
  p:
    guardrails: {add: [vendor, cf]}
    pipeline: {steps: [{guardrail: vendor, on_error: next}, {guardrail: cf}]}
`,
    );
  const env = { VENDOR_BASE: `http://127.0.0.1:1/${MARKER}`, VENDOR_KEY: `sk-${MARKER}`, VENDOR_PATTERN: `(?:a|a)+${MARKER}` };

  it('pipeline resolves os.environ/ values and prints none of them', async () => {
    const r = await run(['pipeline', '--bundle', vendor(), '--policy', 'p', '--mode', 'compat', '--input', '{"messages":[{"role":"user","content":"hi"}]}'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps[0].detail).toContain('os.environ/VENDOR_BASE');
    expect(r.stdout + r.stderr).toContain('os.environ/VENDOR_PATTERN');
    expect(r.stdout + r.stderr).not.toContain(MARKER);
  });

  it('serve logs no os.environ/ value', async () => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--bundle', vendor(), '--mode', 'compat', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
      env: { ...process.env, PDP_LOG_LEVEL: 'debug', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!output.includes('decision API listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('os.environ/VENDOR_PATTERN');
    expect(output).not.toContain(MARKER);
  });
});
