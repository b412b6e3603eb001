import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTlsFiles, type TlsMaterial } from '../../src/server/tls.js';
import { startApp, type Started } from '../helpers/app.js';
import { cli as run, EXAMPLE, MAIN } from '../helpers/cli.js';

// The commands that ask a running sidecar (--server, --socket), against the real app on
// 127.0.0.1:0 or a Unix socket, run as the built binary.

const cli = (...args: string[]) => run(args);
const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;
const HEALTH_TEAM = '{"team_alias":"health-team","model":"gpt-4"}';
const SECRET = '{"messages":[{"role":"user","content":"deploy with AKIAIOSFODNN7EXAMPLE"}]}';

let s: Started | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await s?.stop();
  s = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pdp-remote-'));
  dirs.push(d);
  return d;
}

/** An answer without its run times, which differ between two runs. */
function withoutDurations(json: { steps?: { durationMs?: number }[] }): unknown {
  return { ...json, steps: json.steps?.map(({ durationMs: _, ...step }) => step) };
}

describe('resolve --server / --socket', () => {
  it('prints what the offline form prints', async () => {
    s = await startApp(EXAMPLE);
    const [online, offline] = await Promise.all([
      cli('resolve', '--server', s.grpcAddress, '--context', HEALTH_TEAM, '--key-policy', 'strict-mode'),
      cli('resolve', '--bundle', EXAMPLE, '--context', HEALTH_TEAM, '--key-policy', 'strict-mode'),
    ]);
    expect(online.code).toBe(0);
    expect(online.stdout).toBe(offline.stdout);
    expect(JSON.parse(online.stdout).appliedPolicies).toContain('strict-mode');
  });

  it('prints one line per JSONL line, over a Unix socket', async () => {
    const dir = tempDir();
    const socket = join(dir, 'pdp.sock');
    s = await startApp(EXAMPLE, { listen: { kind: 'unix', path: socket } });
    const contexts = join(dir, 'contexts.jsonl');
    writeFileSync(contexts, '{"key_alias":"dev-key-1"}\n{"context":{"tags":["provider-x"],"model":"anthropic/claude"}}\n');
    const [online, offline] = await Promise.all([cli('resolve', '--socket', socket, '--contexts', contexts), cli('resolve', '--bundle', EXAMPLE, '--contexts', contexts)]);
    expect(online.code).toBe(0);
    expect(online.stdout).toBe(offline.stdout);
    expect(online.stdout.trim().split('\n')).toHaveLength(2);
  });

  it("exits 2 with the server's message for a bad request, and 3 when nothing answers", async () => {
    s = await startApp(EXAMPLE);
    const bad = await cli('resolve', '--server', s.grpcAddress, '--context', '{}', '--request-policy', '');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--context: INVALID_ARGUMENT: request_policies[0] is empty');
    const none = await cli('resolve', '--server', '127.0.0.1:1', '--context', '{}', '--timeout-ms', '500');
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^--context: (UNAVAILABLE|DEADLINE_EXCEEDED): /);
  });

  it('refuses a source and a server together, and offline flags with a server', async () => {
    const r = await cli('resolve', '--bundle', EXAMPLE, '--server', '127.0.0.1:1', '--mode', 'compat', '--context', '{}');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bundle, --db, --mode and the compile flags are for answering offline');
    const none = await cli('resolve', '--context', '{}');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give --bundle FILE or --db FILE.db to answer offline, or --server or --socket to ask a running sidecar');
  });
});

describe('pipeline --server', () => {
  it('prints what the offline form prints (run times aside)', async () => {
    s = await startApp(EXAMPLE);
    const [online, offline] = await Promise.all([
      cli('pipeline', '--server', s.grpcAddress, '--policy', 'gpt4-pipeline', '--input', SECRET),
      cli('pipeline', '--bundle', EXAMPLE, '--policy', 'gpt4-pipeline', '--input', SECRET),
    ]);
    expect(online.code).toBe(0);
    expect(withoutDurations(JSON.parse(online.stdout))).toEqual(withoutDurations(JSON.parse(offline.stdout)));
    expect(JSON.parse(online.stdout).terminalAction).toBe('BLOCK');
  });

  it('exits 2 for a policy the sidecar does not have', async () => {
    s = await startApp(EXAMPLE);
    const r = await cli('pipeline', '--server', s.grpcAddress, '--policy', 'nope', '--input', SECRET);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--input: NOT_FOUND: policy 'nope' not found");
  });
});

describe('watch --server', () => {
  it('prints the current snapshot, then each activation, as JSON lines, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const file = join(dir, 'bundle.yaml');
    writeFileSync(file, 'policies:\n  a: { guardrails: { add: [] } }\n');
    s = await startApp(file);
    const child = spawn(process.execPath, [MAIN, 'watch', '--server', s.grpcAddress]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    await waitUntil(() => lines.length === 1);
    expect(lines[0]).toMatchObject({ kind: 'ACTIVATED', origin: file, policyCount: 1, revision: s.app.holder.current()!.revision });
    writeFileSync(file, 'policies:\n  a: { guardrails: { add: [] } }\n  b: { guardrails: { add: [] } }\n');
    await waitUntil(() => lines.length === 2);
    expect(lines[1]).toMatchObject({ kind: 'ACTIVATED', policyCount: 2 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits 3 when the stream cannot be opened', async () => {
    const r = await cli('watch', '--server', '127.0.0.1:1');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^watch: UNAVAILABLE: /);
  });
});

describe('health --server', () => {
  it('prints SERVING and exits 0 for a serving sidecar; exits 1 when nothing answers in time', async () => {
    s = await startApp(EXAMPLE);
    const ok = await cli('health', '--server', s.grpcAddress);
    expect(ok).toMatchObject({ code: 0, stdout: 'SERVING\n' });
    const none = await cli('health', '--server', '127.0.0.1:1', '--timeout-ms', '300');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('not ready within 300 ms');
  });

  it('takes the TLS flags: a CA to trust, and a client certificate for mTLS', async () => {
    const tls = readTlsFiles({ certPath: join(TLS, 'server.pem'), keyPath: join(TLS, 'server.key'), clientCaPath: join(TLS, 'ca.pem') }).material as TlsMaterial;
    s = await startApp(EXAMPLE, { config: { tls } });
    const flags = ['--server', s.grpcAddress, '--tls-ca', join(TLS, 'ca.pem')];
    const [mtls, noCert, plaintext] = await Promise.all([
      cli('health', ...flags, '--tls-cert', join(TLS, 'client.pem'), '--tls-key', join(TLS, 'client.key')),
      cli('health', ...flags, '--timeout-ms', '500'),
      cli('health', '--server', s.grpcAddress, '--timeout-ms', '500'),
    ]);
    expect(mtls.code).toBe(0);
    expect(noCert.code).toBe(1);
    expect(plaintext.code).toBe(1);
    const bad = await cli('health', '--server', s.grpcAddress, '--tls-cert', '/nonexistent.pem');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tls-cert and --tls-key: give both or neither');
    expect(bad.stderr).toContain('--tls-cert: cannot read /nonexistent.pem: ENOENT');
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
