import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { resolve } from '../../src/engine/resolve.js';
import { resolveRequestFromJson } from '../../src/cli/request-json.js';
import { toResolveRequest } from '../../src/server/convert/resolve.js';
import { createBundleFileSource } from '../../src/sources/bundle-file.js';
import { finish } from '../../src/steps.js';

interface CaseFile {
  bundle: string;
  mode?: 'strict' | 'compat';
  cases: { name: string; request: unknown; expect: Record<string, unknown> }[];
}

const dir = new URL('../fixtures/cases/', import.meta.url).pathname;
// pipelines.yaml holds ExecutePipeline cases, run by pipeline-cases.test.ts.
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'pipelines.yaml');

describe.each(files)('golden resolve cases: %s', (file) => {
  const spec = parse(readFileSync(join(dir, file), 'utf8')) as CaseFile;
  const bundlePath = resolvePath(dirname(join(dir, file)), spec.bundle);

  it.each(spec.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const compiled = finish(compile(await createBundleFileSource({ path: bundlePath }).load(), { mode: spec.mode ?? 'strict' }));
    if (!compiled.ok) throw new Error(compiled.issues.map((i) => i.message).join('\n'));
    const request = toResolveRequest(resolveRequestFromJson(c.request, 'request'));
    expect(resolve(compiled.snapshot, request)).toMatchObject(c.expect);
  });
});
