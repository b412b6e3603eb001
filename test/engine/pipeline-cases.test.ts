import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { executePipeline } from '../../src/engine/pipeline.js';
import { pipelineFor } from '../../src/engine/pipeline-target.js';
import { PdpError } from '../../src/errors.js';
import type { CompiledGuardrail, GuardrailCheck, GuardrailVerdict } from '../../src/model/guardrail.js';
import type { ValidationMode } from '../../src/model/policy.js';
import { executePipelineRequestFromJson } from '../../src/cli/request-json.js';
import { toExecutePipelineResponseJson, toPipelineRequest } from '../../src/server/convert/pipeline.js';
import { snapshotOf } from '../helpers/snapshot.js';

/** A fake guardrail's behaviour, as test/fixtures/cases/pipelines.yaml describes it. */
interface Fake {
  mask?: string;
  fail_on?: string;
  detail?: string;
  error?: string;
  hang?: boolean;
}

interface CaseFile {
  mode?: ValidationMode;
  bundle: unknown;
  fakes: Record<string, Fake>;
  cases: { name: string; request: unknown; expect?: Record<string, unknown>; error?: { code: string; message: string } }[];
}

const file = new URL('../fixtures/cases/pipelines.yaml', import.meta.url).pathname;
const spec = parse(readFileSync(file, 'utf8')) as CaseFile;

function fakeCheck(f: Fake): GuardrailCheck {
  if (f.hang) return () => new Promise<GuardrailVerdict>(() => undefined);
  if (f.error !== undefined) return () => ({ outcome: 'error', detail: f.error as string });
  const { mask, fail_on: failOn } = f;
  if (mask !== undefined) return (i) => ({ outcome: 'pass', texts: i.texts.map((t) => t.replaceAll(mask, '[MASKED]')) });
  if (failOn !== undefined) return (i) => (i.texts.some((t) => t.includes(failOn)) ? { outcome: 'fail', detail: f.detail ?? '' } : { outcome: 'pass' });
  throw new Error(`unknown fake ${JSON.stringify(f)}`);
}

const compiled = snapshotOf(stringify(spec.bundle), spec.mode ?? 'strict');
const guardrails = new Map<string, CompiledGuardrail>(compiled.guardrails);
for (const [name, fake] of Object.entries(spec.fakes)) {
  const g = guardrails.get(name);
  if (g === undefined) throw new Error(`fake for undefined guardrail ${name}`);
  guardrails.set(name, { ...g, check: fakeCheck(fake) });
}
const snapshot = { ...compiled, guardrails };

describe('golden pipeline cases: pipelines.yaml', () => {
  it.each(spec.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const run = async (): Promise<unknown> => {
      const request = toPipelineRequest(executePipelineRequestFromJson(c.request, 'request'));
      return toExecutePipelineResponseJson(await executePipeline(snapshot, pipelineFor(snapshot, request), request));
    };
    if (c.error !== undefined) {
      const err = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PdpError);
      expect(err).toMatchObject({ code: c.error.code, message: expect.stringContaining(c.error.message) });
      return;
    }
    const answer = await run();
    // Empty proto3 fields are left out of the JSON form: "" in a case means "absent".
    const expected = Object.entries(c.expect ?? {});
    expect(answer).toMatchObject({ ...Object.fromEntries(expected.filter(([, v]) => v !== '')), revision: snapshot.revision });
    for (const [key, value] of expected) if (value === '') expect(answer).not.toHaveProperty(key);
  }, 5000);
});
