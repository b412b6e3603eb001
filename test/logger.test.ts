import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Mode } from '../src/gen/guardrail/pdp/v1/pipeline.js';
import { createLogger } from '../src/logger.js';
import { callExecutePipeline, callResolve, startApp, type Started } from './helpers/app.js';
import { captureLogs } from './helpers/logs.js';
import { nextRevision, openWatch, waitFor } from './helpers/watch.js';

/** Recognisable prompt text that must never reach a log line. */
const SECRET = 'SECRET-PROMPT-7f3a9c';

/**
 * A Generic Guardrail API that misbehaves with the text it is sent: /echo blocks quoting it,
 * /fail answers 500 quoting it, /junk answers invalid JSON quoting it, /slow answers too late.
 */
async function leakyVendor(): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/slow/')) return void setTimeout(() => res.end('{"action":"NONE"}'), 1000);
      if (req.url?.startsWith('/fail/')) return void res.writeHead(500).end(`upstream failed on ${body}`);
      if (req.url?.startsWith('/junk/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{${body}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ action: 'BLOCKED', blocked_reason: `saw ${body}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const bundle = (base: string, extra = '') => `
guardrails:
  - { guardrail_name: echo, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/echo" } }
  - { guardrail_name: fail, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/fail" } }
  - { guardrail_name: junk, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/junk" } }
  - { guardrail_name: slow, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/slow", timeout: 0.1 } }
policies:
  pre:
    guardrails: { add: [fail, junk, slow, echo] }
    pipeline:
      steps:
        - { guardrail: fail, on_error: next }
        - { guardrail: junk, on_error: next }
        - { guardrail: slow, on_error: next }
        - { guardrail: echo, on_fail: block }
  post:
    guardrails: { add: [echo] }
    pipeline: { mode: post_call, steps: [{ guardrail: echo, on_fail: block }] }
policy_attachments:
  - { policy: pre, scope: "*" }
${extra}`;

let s: Started | undefined;
let vendor: Server | undefined;
afterEach(async () => {
  await s?.stop();
  vendor?.closeAllConnections();
  vendor?.close();
});

describe('logging', () => {
  it('never logs prompt or response text, even at trace level with the decision log on', async () => {
    const logs = captureLogs();
    const v = await leakyVendor();
    vendor = v.server;
    const path = join(mkdtempSync(join(tmpdir(), 'pdp-redact-')), 'bundle.yaml');
    writeFileSync(path, bundle(v.base));
    s = await startApp(path, { log: createLogger('trace', logs.stream), config: { decisionLogSampleRate: 1 } });

    const context = { teamAlias: 'team-a', keyAlias: 'key-a', model: 'gpt-4', tags: [SECRET] };
    await callResolve(s.client, { context });
    await callResolve(s.client, { context: { ...context, model: `${SECRET}${'x'.repeat(5000)}` } }).catch(() => undefined);
    const messages = [{ role: 'user', content: `please keep ${SECRET} private` }];
    await callExecutePipeline(s.client, { policyName: 'pre', messages, context, requestId: 'req-1' }).catch(() => undefined);
    await callExecutePipeline(s.client, { policyName: 'post', mode: Mode.POST_CALL, messages, responseText: `answer ${SECRET}`, context }).catch(
      () => undefined,
    );
    await callExecutePipeline(s.client, { policyName: 'missing', messages, responseText: SECRET }).catch(() => undefined);

    await waitFor(() => logs.lines().some((l) => l['rpc'] === 'Resolve'), 5000, 'the decision log line');
    expect(logs.text()).not.toContain(SECRET);
    expect(logs.lines().length).toBeGreaterThan(3); // the capture did see the app's lines
  });

  it('puts revision and origin on every activation line, and a component on every line', async () => {
    const logs = captureLogs();
    const dir = mkdtempSync(join(tmpdir(), 'pdp-logs-'));
    const path = join(dir, 'bundle.yaml');
    writeFileSync(path, 'policies:\n  a: { guardrails: { add: [g] } }\n');
    s = await startApp(path, { log: createLogger('debug', logs.stream) });
    const watch = openWatch(s.client);
    await watch.nextEvent();
    writeFileSync(path, 'policies:\n  b: { guardrails: { add: [g] } }\n');
    await nextRevision(watch, 10_000);
    writeFileSync(path, 'policies:\n  a: { inherit: missing }\n');
    await watch.nextEvent(10_000); // ACTIVATION_FAILED
    watch.cancel();

    const activator = logs.lines().filter((l) => l['component'] === 'activator');
    expect(activator.map((l) => l['msg'])).toEqual(
      expect.arrayContaining(['snapshot activated', expect.stringMatching(/^activation failed/)]),
    );
    for (const line of activator) expect(line).toMatchObject({ revision: expect.any(String), origin: path });
    for (const line of logs.lines()) expect(line['component']).toEqual(expect.any(String));
  });
});
