// Issue 11, prompt text in logs: hostile and ordinary calls against the real app, at trace level
// with the decision log on, and the distinctive prompt text must be in no log line. The calls
// cover every path added for the issue (cancellation, strict decoding, the text limit, Watch) as
// well as failing checks and vendors that echo the prompt back.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutePipelineRequest, Mode } from '../../src/gen/guardrail/pdp/v1/pipeline.js';
import { ResolveRequest } from '../../src/gen/guardrail/pdp/v1/resolve.js';
import { createLogger } from '../../src/logger.js';
import { callExecutePipeline, callResolve, startApp, type Started } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { rawSession } from '../helpers/raw-grpc.js';
import { openWatch, waitFor } from '../helpers/watch.js';

/** Recognisable prompt text that must never reach a log line. */
const SECRET = 'PROMPT-MARKER-93be41d7';

/**
 * A Generic Guardrail API that throws the text it is sent back at us: /echo blocks quoting it,
 * /fail answers 500 quoting it, /junk answers invalid JSON quoting it, /action answers an unknown
 * action made of it, /texts passes with the wrong number of texts, all quoting it, /hang never
 * answers.
 */
async function echoingVendor(): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (value: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url?.startsWith('/hang/')) return;
      if (req.url?.startsWith('/fail/')) return void res.writeHead(500).end(`upstream failed on ${body}`);
      if (req.url?.startsWith('/junk/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{${body}`);
      if (req.url?.startsWith('/action/')) return json({ action: body });
      if (req.url?.startsWith('/texts/')) return json({ action: 'GUARDRAIL_INTERVENED', texts: [body, body] });
      json({ action: 'BLOCKED', blocked_reason: `saw ${body}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const bundle = (base: string): string => {
  const vendor = (name: string, extra = '') =>
    `  - { guardrail_name: ${name}, litellm_params: { guardrail: generic_guardrail_api, api_base: "${base}/${name}"${extra} } }`;
  return `
guardrails:
${['echo', 'fail', 'junk', 'action', 'texts', 'hang'].map((n) => vendor(n)).join('\n')}
${vendor('slow', ', timeout: 0.05').replace('/slow', '/hang')}
  - guardrail_name: words
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{ pattern_type: prebuilt, pattern_name: email, action: BLOCK }]
policies:
  pre:
    guardrails: { add: [fail, junk, action, texts, slow, words, echo] }
    pipeline:
      steps:
        - { guardrail: fail, on_error: next }
        - { guardrail: junk, on_error: next }
        - { guardrail: action, on_error: next }
        - { guardrail: texts, on_error: next, pass_data: true }
        - { guardrail: slow, on_error: next }
        - { guardrail: words, on_fail: next }
        - { guardrail: echo, on_fail: block }
  post:
    guardrails: { add: [echo] }
    pipeline: { mode: post_call, steps: [{ guardrail: echo, on_fail: block }] }
  stuck:
    guardrails: { add: [hang] }
    pipeline: { steps: [{ guardrail: hang }] }
policy_attachments:
  - { policy: pre, scope: "*" }
`;
};

let s: Started;
let vendor: Server;
const logs = captureLogs();
beforeAll(async () => {
  const v = await echoingVendor();
  vendor = v.server;
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-logs-')), 'bundle.yaml');
  writeFileSync(path, bundle(v.base));
  s = await startApp(path, { log: createLogger('trace', logs.stream), config: { decisionLogSampleRate: 1 } });
});
afterAll(async () => {
  await s?.stop();
  vendor?.closeAllConnections();
  vendor?.close();
});

const user = (content: string) => ({ role: 'user', content });
const settle = (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);

describe('prompt text in logs (robustness)', () => {
  it('never reaches a log line, whatever the calls', async () => {
    const prompt = `please keep ${SECRET} private, mail me at someone@example.com`;
    const context = { teamAlias: 'team-a', keyAlias: 'key-a', model: 'gpt-4', tags: [] };

    // Ordinary calls, and checks that fail or echo the prompt.
    await callResolve(s.client, { context });
    const pre = await callExecutePipeline(s.client, { policyName: 'pre', messages: [user(prompt)], context, requestId: 'req-1' });
    expect(pre.errorMessage).toContain(SECRET); // the vendor did echo it (to the caller, which may see it)
    await callExecutePipeline(s.client, { policyName: 'post', mode: Mode.POST_CALL, messages: [user(prompt)], responseText: `answer ${SECRET}`, context });
    await settle(callExecutePipeline(s.client, { policyName: 'missing', messages: [user(prompt)], responseText: SECRET }));

    // Cancelled calls and calls past their deadline, their vendor requests in flight.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        settle(
          new Promise((resolve, reject) => {
            const call = s.client.executePipeline(
              { policyName: 'stuck', mode: 0, messages: [user(prompt)], context: undefined, requestId: '' },
              new Metadata(),
              i % 2 === 0 ? {} : { deadline: Date.now() + 100 },
              (err, res) => (err ? reject(err) : resolve(res)),
            );
            if (i % 2 === 0) setTimeout(() => call.cancel(), 50);
          }),
        ),
      ),
    );

    // Too much text.
    await settle(callExecutePipeline(s.client, { policyName: 'pre', messages: [user(prompt), user('x'.repeat(1024 * 1024))] }));

    // Malformed requests carrying the prompt: a 0 tag, invalid UTF-8, a stray end-group tag.
    const raw = rawSession(s.grpcAddress);
    const pipelineBytes = ExecutePipelineRequest.encode({ policyName: 'pre', mode: 0, messages: [user(prompt)], context: undefined, requestId: '' }).finish();
    const resolveBytes = ResolveRequest.encode({ context: { tags: [SECRET] }, requestPolicies: [SECRET], keyPolicies: [], teamPolicies: [] }).finish();
    const bad = [
      ['ExecutePipeline', Uint8Array.from([...pipelineBytes, 0x00])],
      ['ExecutePipeline', Uint8Array.from([...pipelineBytes.subarray(0, pipelineBytes.length - 1), 0xff])],
      ['Resolve', Uint8Array.from([...resolveBytes, 0x0c])],
      ['Resolve', Uint8Array.from([0x00, ...resolveBytes])],
      ['Watch', Uint8Array.from([0x0a, SECRET.length, ...Buffer.from(SECRET), 0x00])],
    ] as const;
    // (A Watch the server wrongly accepted would never end: wait for none longer than a second.)
    const second = () => new Promise((resolve) => setTimeout(resolve, 1000).unref());
    for (const [method, bytes] of bad) await Promise.race([raw.unary(`/guardrail.pdp.v1.DecisionService/${method}`, bytes), second()]);
    raw.close();

    // A Watch, for the activation lines.
    const watch = openWatch(s.client);
    await watch.nextEvent();
    watch.cancel();

    await waitFor(() => logs.lines().filter((l) => l['component'] === 'decision-log').length >= 3, 5000, 'the decision log lines');
    await waitFor(() => s.app.server.callsInFlight === 0, 5000, 'every call to end');
    const lines = logs.lines();
    expect(lines.length).toBeGreaterThan(5); // the capture saw the app's lines
    expect(lines.filter((l) => l['rpc'] === 'ExecutePipeline').length).toBeGreaterThanOrEqual(2);
    const leaking = lines.filter((l) => JSON.stringify(l).includes(SECRET));
    expect(leaking).toEqual([]);
    expect(logs.text()).not.toContain(SECRET);
    expect(logs.text()).not.toContain('someone@example.com');
  });
});

