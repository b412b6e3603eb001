import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../../src/compile/compile.js';
import type { GuardrailEnv } from '../../../src/guardrails/kind.js';
import type { CompiledGuardrail, GuardrailInput, GuardrailVerdict } from '../../../src/model/guardrail.js';
import type { Issue } from '../../../src/model/issue.js';
import { bundleFromYaml } from '../../helpers/bundle.js';
import { finish } from '../../../src/steps.js';

// Prompt text that must never show up in a detail.
const PROMPT = 'my card is 4111 1111 1111 1111';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on 127.0.0.1:0 that records every request and counts TCP connections. */
class RecordingServer {
  readonly received: Received[] = [];
  connections = 0;
  handler: Handler = (_req, res) => json(res, { action: 'NONE' });
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      this.handler(req, res, body);
    });
  });

  async start(): Promise<string> {
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.connections = 0;
    this.handler = (_req, res) => json(res, { action: 'NONE' });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(res: ServerResponse, value: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

const server = new RecordingServer();
let base = '';
let agent: Agent;
let calls: { kind: string; seconds: number; result: string }[] = [];
const env = (): GuardrailEnv => ({ dispatcher: agent, onHttpCall: (kind, seconds, result) => calls.push({ kind, seconds, result }) });

beforeAll(async () => {
  base = await server.start();
  agent = new Agent({ keepAliveTimeout: 30_000 });
});
afterEach(() => {
  server.reset();
  calls = [];
});
afterAll(async () => {
  await agent.close();
  await server.stop();
});

/** The bundle's YAML for one generic_guardrail_api guardrail with these extra litellm_params lines. */
function bundleYaml(params: string): string {
  return `guardrails:
  - guardrail_name: vendor
    litellm_params:
      guardrail: generic_guardrail_api
      mode: pre_call
${params
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;
}

/** Compiles the guardrail through the real compile; fails the test if the bundle has errors. */
function compiled(params: string, guardrailEnv: GuardrailEnv = env()): CompiledGuardrail {
  const result = finish(compile(bundleFromYaml(bundleYaml(params)), { mode: 'strict', guardrailEnv }));
  if (!result.ok) throw new Error(`unexpected issues: ${JSON.stringify(result.issues)}`);
  const guardrail = result.snapshot.guardrails.get('vendor');
  if (guardrail?.check === undefined) throw new Error('no check compiled');
  return guardrail;
}

function issuesOf(params: string): readonly Issue[] {
  const result = finish(compile(bundleFromYaml(bundleYaml(params)), { mode: 'strict', guardrailEnv: env() }));
  expect(result.ok).toBe(false);
  return result.issues;
}

function requestInput(texts: readonly string[], signal = new AbortController().signal): GuardrailInput {
  return {
    inputType: 'request',
    texts,
    messages: texts.map((content, i) => ({ role: i === 0 ? 'system' : 'user', content })),
    context: { teamAlias: 'team-a', keyAlias: 'key-a', model: 'gpt-4o', tags: ['prod'] },
    requestId: 'req-1',
    signal,
  };
}

async function run(params: string, input: GuardrailInput = requestInput(['be nice', PROMPT])): Promise<GuardrailVerdict> {
  return compiled(params).check!(input);
}

function errorDetail(v: GuardrailVerdict): string {
  expect(v.outcome).toBe('error');
  const detail = v.outcome === 'error' ? v.detail : '';
  expect(detail).not.toContain(PROMPT);
  return detail;
}

describe('generic_guardrail_api: the wire format', () => {
  it("POSTs LiteLLM's request body, headers and path", async () => {
    const v = await run(`
api_base: ${base}/
api_key: sk-vendor
headers: {X-Tenant: acme}
additional_provider_specific_params: {threshold: 0.8, language: en}`);
    expect(v).toEqual({ outcome: 'pass' });
    expect(server.received).toHaveLength(1);
    const got = server.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/beta/litellm_basic_guardrail_api');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-api-key']).toBe('sk-vendor');
    expect(got.headers['x-tenant']).toBe('acme');
    expect(JSON.parse(got.body)).toEqual({
      input_type: 'request',
      litellm_call_id: 'req-1',
      litellm_trace_id: null,
      structured_messages: [
        { role: 'system', content: 'be nice' },
        { role: 'user', content: PROMPT },
      ],
      images: null,
      tools: null,
      texts: ['be nice', PROMPT],
      request_data: { user_api_key_alias: 'key-a', user_api_key_team_alias: 'team-a' },
      request_headers: null,
      litellm_version: null,
      additional_provider_specific_params: { threshold: 0.8, language: 'en' },
      tool_calls: null,
      model: 'gpt-4o',
    });
    expect(calls).toEqual([{ kind: 'generic_guardrail_api', seconds: expect.any(Number), result: 'ok' }]);
  });

  it('keeps an api_base that already ends with the API path, and sends a response as input_type response', async () => {
    const g = compiled(`api_base: ${base}/vendor/beta/litellm_basic_guardrail_api`);
    const input: GuardrailInput = {
      inputType: 'response',
      texts: ['the answer'],
      messages: [],
      context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] },
      requestId: '',
      signal: new AbortController().signal,
    };
    expect(await g.check!(input)).toEqual({ outcome: 'pass' });
    const got = server.received[0]!;
    expect(got.url).toBe('/vendor/beta/litellm_basic_guardrail_api');
    expect(got.headers['x-api-key']).toBeUndefined();
    const body = JSON.parse(got.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      input_type: 'response',
      texts: ['the answer'],
      structured_messages: null,
      litellm_call_id: null,
      request_data: {},
      additional_provider_specific_params: {},
      model: null,
    });
  });

  it('lets api_key replace an x-api-key header and a configured Content-Type replace the default', async () => {
    await run(`
api_base: ${base}
api_key: from-api-key
headers: {X-API-Key: from-headers, Content-Type: application/vnd.vendor+json}`);
    const got = server.received[0]!;
    expect(got.headers['x-api-key']).toBe('from-api-key');
    expect(got.headers['content-type']).toBe('application/vnd.vendor+json');
  });

  it('reuses one kept-alive connection for consecutive calls, also after an error status', async () => {
    const own = new Agent({ keepAliveTimeout: 30_000 }); // a pool with no connection yet
    try {
      const g = compiled(`api_base: ${base}`, { dispatcher: own });
      let n = 0;
      server.handler = (_req, res) => (n++ === 1 ? json(res, { detail: PROMPT }, 503) : json(res, { action: 'NONE' }));
      const before = server.connections;
      for (const [text, outcome] of [['a', 'pass'], ['b', 'error'], ['c', 'pass']] as const) {
        expect((await g.check!(requestInput([text]))).outcome).toBe(outcome);
        // undici frees a connection one turn of the event loop after its body ends.
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(server.received).toHaveLength(3);
      expect(server.connections - before).toBe(1);
    } finally {
      await own.close();
    }
  });
});

describe('generic_guardrail_api: answers', () => {
  it('passes unchanged on NONE', async () => {
    server.handler = (_req, res) => json(res, { action: 'NONE', texts: ['ignored', 'ignored'] });
    expect(await run(`api_base: ${base}`)).toEqual({ outcome: 'pass' });
  });

  it('passes with the returned texts on GUARDRAIL_INTERVENED', async () => {
    server.handler = (_req, res) => json(res, { action: 'GUARDRAIL_INTERVENED', texts: ['be nice', 'my card is [REDACTED]'] });
    expect(await run(`api_base: ${base}`)).toEqual({ outcome: 'pass', texts: ['be nice', 'my card is [REDACTED]'] });
  });

  it('errors on GUARDRAIL_INTERVENED without one string per input text', async () => {
    server.handler = (_req, res) => json(res, { action: 'GUARDRAIL_INTERVENED', texts: ['only one'] });
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('returned 1 texts for 2 input texts');
    server.handler = (_req, res) => json(res, { action: 'GUARDRAIL_INTERVENED', texts: ['a', 7] });
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('"texts", an array of strings');
    server.handler = (_req, res) => json(res, { action: 'GUARDRAIL_INTERVENED' });
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('"texts", an array of strings');
  });

  it("fails on BLOCKED with the vendor's reason as the detail", async () => {
    server.handler = (_req, res) => json(res, { action: 'BLOCKED', blocked_reason: 'PII: credit card' });
    expect(await run(`api_base: ${base}`)).toEqual({ outcome: 'fail', detail: 'PII: credit card' });
    expect(calls.map((c) => c.result)).toEqual(['ok']);
  });

  it("uses LiteLLM's default reason when BLOCKED has none, and caps a long reason at 1,000 characters", async () => {
    server.handler = (_req, res) => json(res, { action: 'BLOCKED', blocked_reason: '' });
    expect(await run(`api_base: ${base}`)).toEqual({ outcome: 'fail', detail: 'Content violates policy' });
    server.handler = (_req, res) => json(res, { action: 'BLOCKED', blocked_reason: 'x'.repeat(5000) });
    expect(await run(`api_base: ${base}`)).toEqual({ outcome: 'fail', detail: `${'x'.repeat(1000)}…` });
  });

  it('errors on an unknown action, naming it', async () => {
    server.handler = (_req, res) => json(res, { action: 'ALLOW' });
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('unknown action "ALLOW"');
    expect(calls.map((c) => c.result)).toEqual(['error']);
  });

  it('errors on JSON of the wrong shape without quoting it', async () => {
    for (const body of [[PROMPT], { action: 1, texts: [PROMPT] }, { texts: [PROMPT] }, PROMPT, null]) {
      server.handler = (_req, res) => json(res, body);
      expect(errorDetail(await run(`api_base: ${base}`))).toContain('unexpected shape');
    }
    server.handler = (_req, res) => json(res, { action: 'BLOCKED', blocked_reason: { text: PROMPT } });
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('"blocked_reason" must be a string');
  });

  it('errors on a body that is not JSON, without quoting it', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html>${PROMPT}</html>`);
    };
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('not JSON');
  });
});

describe('generic_guardrail_api: failures', () => {
  it('errors on a 5xx and on a 4xx, naming the status and not the body', async () => {
    server.handler = (_req, res) => json(res, { error: PROMPT }, 502);
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('answered HTTP 502');
    server.handler = (_req, res) => json(res, { error: PROMPT }, 401);
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('answered HTTP 401');
    expect(calls.map((c) => c.result)).toEqual(['error', 'error']);
  });

  it('errors when the connection is refused', async () => {
    const closed = new RecordingServer();
    const deadBase = await closed.start();
    await closed.stop();
    const detail = errorDetail(await run(`api_base: ${deadBase}`));
    expect(detail).toContain('connection refused');
    expect(detail).toContain(`${deadBase}/beta/litellm_basic_guardrail_api`);
  });

  it('errors when the server resets the connection', async () => {
    server.handler = (req) => req.socket.destroy();
    expect(errorDetail(await run(`api_base: ${base}`))).toContain('cannot reach the guardrail API');
  });

  it('stops a call when the signal aborts, and closes the connection', async () => {
    const gone = new Promise<void>((resolve) => {
      server.handler = (req) => req.socket.once('close', () => resolve());
    });
    const controller = new AbortController();
    const pending = run(`api_base: ${base}\ntimeout: 60`, requestInput(['x', PROMPT], controller.signal));
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(errorDetail(await pending)).toContain('cancelled');
    await gone;
    expect(calls.map((c) => c.result)).toEqual(['timeout']);
  });

  it('stops a call after litellm_params.timeout when nothing aborts it', async () => {
    server.handler = () => undefined; // never answers
    expect(errorDetail(await run(`api_base: ${base}\ntimeout: 0.2`))).toContain('within 200 ms');
    expect(calls.map((c) => c.result)).toEqual(['timeout']);
  });

  it('does not call the API when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(errorDetail(await run(`api_base: ${base}`, requestInput(['x'], controller.signal)))).toContain('cancelled');
    expect(server.received).toHaveLength(0);
  });

  it('stops reading a huge streamed body at the cap and destroys the stream', async () => {
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const closed = new Promise<boolean>((resolve) => {
      server.handler = (_req, res) => {
        res.on('close', () => resolve(res.writableFinished));
        res.writeHead(200, { 'content-type': 'application/json' });
        const pump = (): void => {
          while (sent < total && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (sent >= total) res.end();
        };
        pump();
      };
    });
    expect(errorDetail(await run(`api_base: ${base}\ntimeout: 15`))).toContain('over 1048576 bytes');
    expect(await closed).toBe(false); // the server never got to finish the 50 MB
    expect(sent).toBeLessThan(total);
  });

  it('rejects a declared Content-Length over the cap without reading the body', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(8 * 1024 * 1024) });
      res.write('{"action":"NONE"'); // and then nothing: the client must not wait for the rest
    };
    expect(errorDetail(await run(`api_base: ${base}\ntimeout: 15`))).toContain('over 1048576 bytes');
  });
});

describe('generic_guardrail_api: settings', () => {
  it('defaults the time limit to 5 s and takes litellm_params.timeout in seconds', () => {
    expect(compiled(`api_base: ${base}`).timeoutMs).toBe(5000);
    expect(compiled(`api_base: ${base}\ntimeout: 2.5`).timeoutMs).toBe(2500);
  });

  it('reports every bad setting at its location', () => {
    const issues = issuesOf(`
api_base: ftp://guard.example
api_key: 42
headers: {X-Team: 7, "bad name": x, Host: h}
additional_provider_specific_params: [1]
timeout: -1`);
    expect(issues.every((i) => i.rule === 'invalid_guardrail_config' && i.severity === 'error' && i.line > 0)).toBe(true);
    const at = (path: string): string => issues.find((i) => i.path === `guardrails[0].litellm_params.${path}`)?.message ?? '';
    expect(at('api_base')).toContain('http or https');
    expect(at('api_key')).toContain('non-empty string');
    expect(at('headers.X-Team')).toContain('must be a string');
    expect(issues.find((i) => i.path === 'guardrails[0].litellm_params.headers["bad name"]')?.message).toContain('not a valid HTTP header name');
    expect(at('headers.Host')).toContain('set by the HTTP client');
    expect(at('additional_provider_specific_params')).toContain('must be a mapping');
    expect(at('timeout')).toContain('above 0');
    expect(issues).toHaveLength(7);
  });

  it('warns about an unknown setting at its location, so a typo is not silently ignored', () => {
    const result = finish(compile(bundleFromYaml(bundleYaml('api_base: http://guard.example\ntimout: 2')), { mode: 'strict', guardrailEnv: env() }));
    expect(result.ok).toBe(true);
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'warning', rule: 'invalid_guardrail_config', path: 'guardrails[0].litellm_params.timout', line: 7 }),
    ]);
    expect(result.issues[0]!.message).toContain("guardrail 'vendor' (generic_guardrail_api): unknown key 'timout' is ignored");
  });

  it('requires api_base', () => {
    const issues = issuesOf('api_key: k');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'guardrails[0].litellm_params', rule: 'invalid_guardrail_config' });
    expect(issues[0]!.message).toContain("guardrail 'vendor' (generic_guardrail_api): api_base is required");
  });

  it('rejects api_base URLs the call could not use as written', () => {
    for (const bad of ['not a url', `${base}/?x=1`, 'http://user:pw@guard.example', 'os.environ/GUARD_BASE']) {
      const issues = issuesOf(`api_base: "${bad}"`);
      expect(issues.map((i) => i.path)).toEqual(['guardrails[0].litellm_params.api_base']);
    }
  });

  it('resolves os.environ/ references from the sidecar\'s environment, as LiteLLM does', async () => {
    const lookupEnv = (name: string): string | undefined => ({ GUARD_BASE: base, GUARD_KEY: 'sk-from-env', TOKEN: 't-from-env' })[name];
    const result = finish(
      compile(bundleFromYaml(bundleYaml('api_base: os.environ/GUARD_BASE\napi_key: os.environ/GUARD_KEY\nheaders: {X-Token: os.environ/TOKEN}')), {
        mode: 'strict',
        guardrailEnv: env(),
        lookupEnv,
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const check = result.snapshot.guardrails.get('vendor')?.check;
    expect(await check?.(requestInput(['hi']))).toEqual({ outcome: 'pass' });
    expect(server.received[0]?.headers).toMatchObject({ 'x-api-key': 'sk-from-env', 'x-token': 't-from-env' });
  });

  it('rejects os.environ/ references whose variable is not set, naming the variable', () => {
    const issues = issuesOf(`api_base: ${base}\napi_key: os.environ/GUARD_KEY\nheaders: {X-Token: os.environ/TOKEN}`);
    expect(issues.map((i) => [i.severity, i.rule, i.path]).sort()).toEqual([
      ['error', 'missing_env_var', 'guardrails[0].litellm_params.api_key'],
      ['error', 'missing_env_var', 'guardrails[0].litellm_params.headers.X-Token'],
    ]);
    expect(issues.map((i) => i.message).join('\n')).toContain('environment variable GUARD_KEY is not set');
  });

  it('rejects a timeout that is not a positive number of seconds', () => {
    for (const bad of ['0', '"5"', '7200', '.nan']) {
      expect(issuesOf(`api_base: ${base}\ntimeout: ${bad}`).map((i) => i.path)).toEqual(['guardrails[0].litellm_params.timeout']);
    }
  });
});
