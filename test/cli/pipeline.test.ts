import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli as run, cliWithStdin } from '../helpers/cli.js';

const cli = (...args: string[]) => run(args);
const SECRET = 'hunter2';

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-cli-pipeline-')), name);
  writeFileSync(path, text);
  return path;
}

// A Generic Guardrail API vendor that masks the secret, keeping connections alive as vendors do.
let vendor: Server;
let bundle = '';
beforeAll(async () => {
  vendor = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { texts } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { texts: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ action: 'GUARDRAIL_INTERVENED', texts: texts.map((t) => t.replaceAll(SECRET, '[MASKED]')) }));
    });
  });
  vendor.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => vendor.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  bundle = tempFile(
    'bundle.yaml',
    `guardrails:
  - { guardrail_name: masker, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}" } }
  - { guardrail_name: pii, litellm_params: { guardrail: presidio } }
policies:
  masking:
    guardrails: { add: [masker, pii] }
    pipeline:
      steps:
        - { guardrail: masker, on_pass: next, pass_data: true }
        - { guardrail: pii, on_error: allow }
  presidio-only:
    guardrails: { add: [pii] }
    pipeline:
      steps:
        - { guardrail: pii }
  plain:
    guardrails: { add: [pii] }
`,
  );
});
afterAll(async () => {
  vendor.closeAllConnections();
  await new Promise((resolve) => vendor.close(resolve));
});

const input = JSON.stringify({ messages: [{ role: 'user', content: `my password is ${SECRET}` }] });

describe('guardrail-pdp pipeline', () => {
  it('prints the ExecutePipelineResponse as proto3 JSON, calling HTTP guardrails', async () => {
    const r = await cli('pipeline', '--bundle', bundle, '--policy', 'masking', '--input', input);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      terminalAction: 'ALLOW',
      steps: [
        { guardrail: 'masker', outcome: 'PASS', action: 'NEXT' },
        { guardrail: 'pii', outcome: 'ERROR', action: 'ALLOW', detail: "guardrail 'pii' (kind presidio) is not executable in the sidecar" },
      ],
      messages: [{ role: 'user', content: 'my password is [MASKED]' }],
    });
    expect(out.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof out.steps[0].durationMs).toBe('number');
  }, 20_000);

  it('reports a block as an answer (exit 0) with its error message', async () => {
    const r = await cli('pipeline', '--bundle', bundle, '--policy', 'presidio-only', '--input', input);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.terminalAction).toBe('BLOCK');
    expect(out.errorMessage).toBe("guardrail 'pii' (kind presidio) is not executable in the sidecar");
  });

  it('reads the input from a file with @FILE and from stdin with -', async () => {
    const file = tempFile('input.json', input);
    const fromFile = await cli('pipeline', '--bundle', bundle, '--policy', 'masking', '--input', `@${file}`);
    const fromStdin = await cliWithStdin(['pipeline', '--bundle', bundle, '--policy', 'masking', '--input', '-'], input);
    for (const r of [fromFile, fromStdin]) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).messages).toEqual([{ role: 'user', content: 'my password is [MASKED]' }]);
    }
  }, 20_000);

  it('runs an inline pipeline given in the input instead of --policy', async () => {
    const inline = JSON.stringify({ pipeline: { steps: [{ guardrail: 'pii', on_error: 'MODIFY_RESPONSE' }] }, messages: [] });
    const r = await cli('pipeline', '--bundle', bundle, '--input', inline);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ terminalAction: 'MODIFY_RESPONSE', modifyResponseMessage: expect.stringContaining('not executable') });
  });

  it.each([
    ['an unknown policy', ['--policy', 'nope', '--input', input], "policy 'nope' not found in revision"],
    ['a policy without a pipeline', ['--policy', 'plain', '--input', input], "policy 'plain' has no pipeline"],
    ['input that is not JSON', ['--policy', 'masking', '--input', `{"messages": ${SECRET}`], '--input is not valid JSON'],
    ['an unknown input field', ['--policy', 'masking', '--input', '{"mesages":[]}'], "--input has unknown field 'mesages'"],
    ['a wrongly typed input field', ['--policy', 'masking', '--input', '{"messages":[{"role":1}]}'], '--input.messages[0].role must be a string'],
    ['an unknown enum name', ['--policy', 'masking', '--input', '{"mode":"PRECALL"}'], '--input.mode must be one of'],
    ['a target given twice', ['--policy', 'masking', '--input', '{"policy_name":"plain"}'], 'leave it out when giving --policy'],
    ['no target', ['--input', input], 'give --policy NAME'],
    ['no input', ['--policy', 'masking'], 'give --input'],
    ['an unreadable input file', ['--policy', 'masking', '--input', '@/nonexistent/input.json'], 'cannot read --input @/nonexistent/input.json'],
  ])('exits 2 for %s, saying why without echoing content', async (_what, args, message) => {
    const r = await cli('pipeline', '--bundle', bundle, ...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(SECRET);
  });

  it('exits 1 with the issues when the bundle is invalid', async () => {
    const bad = tempFile('bad.yaml', 'policies:\n  a: { inherit: nope }\n');
    const r = await cli('pipeline', '--bundle', bad, '--policy', 'a', '--input', input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("Parent policy 'nope' not found");
  });

  it('is listed in the top-level help', async () => {
    const r = await cli('help');
    expect(r.stdout).toContain('pipeline  (--bundle FILE | --db FILE.db | --server ADDR | --socket PATH) --policy NAME');
  });
});
