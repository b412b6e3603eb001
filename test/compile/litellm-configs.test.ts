import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions, type CompileResult } from '../../src/compile/compile.js';
import { executePipeline } from '../../src/engine/pipeline.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { finish } from '../../src/steps.js';
import { pipelineInput } from '../helpers/pipeline.js';

// LiteLLM's own example configs and the configs of its guardrail docs (see the SOURCES.md beside
// them): the promise is that a LiteLLM config.yaml loads as it is, with warnings where the sidecar
// cannot run something.
const FIXTURES = path.join(import.meta.dirname, '../fixtures/bundles');
const CATEGORIES = path.join(FIXTURES, 'litellm-categories');
// The variables a deployment sets for the guardrails the sidecar runs.
const ENV: Record<string, string> = { YOUR_GUARDRAIL_API_KEY: 'k-test' };

async function load(file: string, options: Partial<CompileOptions> & { categoriesDir?: string } = {}): Promise<CompileResult> {
  const source = createBundleFileSource({ path: path.join(FIXTURES, file), contentFilterCategoriesDir: options.categoriesDir });
  const bundle = await source.load();
  return finish(compile(bundle, { mode: 'strict', lookupEnv: (name) => ENV[name], ...options }));
}

/** [rule, path] of each warning. */
const warnings = (result: CompileResult): string[][] => result.issues.map((i) => [i.severity, i.rule, i.path]);

// Each config, and the warnings it loads with in strict mode.
const CONFIGS: Readonly<Record<string, readonly string[][]>> = {
  'litellm-examples/guardrails_eu_ai_act.yaml': [],
  'litellm-examples/test_pipeline_config.yaml': [],
  'litellm-examples/tool_permission_example.yaml': [],
  'litellm-docs/content-filter-quickstart.yaml': [],
  'litellm-docs/content-filter-custom-redaction.yaml': [],
  'litellm-docs/content-filter-keywords-file.yaml': [],
  'litellm-docs/content-filter-categories.yaml': [['warning', 'not_executable', 'guardrails[0].litellm_params.categories[0].category']],
  'litellm-docs/guardrail-policies-quickstart.yaml': [['warning', 'missing_env_var', 'guardrails[1].litellm_params.api_key']],
  'litellm-docs/guardrail-policies-team.yaml': [['warning', 'invalid_guardrail', 'guardrails']],
  'litellm-docs/guardrail-policies-conditions.yaml': [['warning', 'invalid_guardrail', 'guardrails']],
  'litellm-docs/generic-guardrail-api.yaml': [],
  'litellm-docs/policy-templates-pii.yaml': [],
};

async function run(snapshot: Snapshot, guardrail: string, content: string) {
  const request = { ...pipelineInput({ messages: [{ role: 'user', content }] }), target: { kind: 'inline' as const, pipeline: { mode: 'pre_call' as const, steps: [{ guardrail, onPass: 'allow' as const, onFail: 'block' as const, onError: undefined, passData: true, modifyResponseMessage: undefined, timeoutMs: undefined }] } }, mode: undefined };
  return executePipeline(snapshot, request.target.pipeline, request, {});
}

describe("LiteLLM's configs", () => {
  for (const [file, expected] of Object.entries(CONFIGS)) {
    it(`${file} loads in strict mode${expected.length > 0 ? ', with warnings where the sidecar cannot run something' : ''}`, async () => {
      const result = await load(file);
      expect(result.ok, JSON.stringify(result.issues)).toBe(true);
      expect(warnings(result)).toEqual(expected);
    });
  }

  it('runs the EU AI Act example: conditional matches block, exceptions let through', async () => {
    const result = await load('litellm-examples/guardrails_eu_ai_act.yaml');
    if (!result.ok) throw new Error('did not load');
    const blocked = await run(result.snapshot, 'eu-ai-act-article5', 'Help me build a social credit score for citizens.');
    expect(blocked.terminalAction).toBe('block');
    expect(blocked.errorMessage).toBe("Content blocked: eu_ai_act_article5_prohibited_practices conditional match 'build + social credit' detected (severity: high)");
    expect((await run(result.snapshot, 'eu-ai-act-article5', 'Explain what a social credit system is.')).terminalAction).toBe('allow');
    expect((await run(result.snapshot, 'eu-ai-act-article5', 'We plan predictive policing.')).errorMessage).toContain("category keyword 'predictive policing'");
  });

  it('runs the prebuilt passport_australia and the blocked_words_file of the docs configs', async () => {
    const pii = await load('litellm-docs/policy-templates-pii.yaml');
    if (!pii.ok) throw new Error('did not load');
    const masked = await run(pii.snapshot, 'au-pii', 'passport N1234567, TFN 123456782');
    expect(masked.messages[0]?.content).toBe('passport [PASSPORT_AUSTRALIA_REDACTED], TFN [AU_TFN_REDACTED]');
    const words = await load('litellm-docs/content-filter-keywords-file.yaml');
    if (!words.ok) throw new Error('did not load');
    expect((await run(words.snapshot, 'keyword-file-filter', 'about Project_Apollo')).errorMessage).toBe("Content blocked: keyword 'project_apollo' detected (Confidential project codename)");
  });

  it('runs built-in categories from --content-filter-categories, with no warning', async () => {
    const result = await load('litellm-docs/content-filter-categories.yaml', { categoriesDir: CATEGORIES });
    if (!result.ok) throw new Error('did not load');
    expect(result.issues).toEqual([]);
    expect((await run(result.snapshot, 'harmful-content-filter', 'I will kill myself')).errorMessage).toBe(
      "Content blocked: harmful_self_harm category keyword 'kill myself' detected (severity: high)",
    );
    expect((await run(result.snapshot, 'harmful-content-filter', 'I am sad')).terminalAction).toBe('allow');
  });

  it('refuses, with --require-executable, a config whose guardrails the sidecar cannot all run', async () => {
    const result = await load('litellm-docs/content-filter-categories.yaml', { requireExecutable: true });
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'not_executable' })]);
  });

  it('refuses the generic guardrail API config without its variable: the sidecar runs that kind', async () => {
    const result = await load('litellm-docs/generic-guardrail-api.yaml', { lookupEnv: () => undefined });
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'error', rule: 'missing_env_var', message: expect.stringContaining('YOUR_GUARDRAIL_API_KEY') })]);
  });
});
