import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startInjector, type RunningInjector } from '../../src/cli/injector.js';
import { MAX_BODY_BYTES } from '../../src/kube/webhook-server.js';
import { DEFAULT_SIDECAR } from '../../src/kube/sidecar.js';
import { cli, MAIN } from '../helpers/cli.js';
import { admissionReview, applyPatch, parseManifests, patchOf, podOf, validateObject, WORKLOADS_TEXT, type K8s } from '../helpers/kube.js';

const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;
const CA = [readFileSync(join(TLS, 'ca.pem')), readFileSync(join(TLS, 'rotated.pem'))];
const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(join(TLS, file))).fingerprint256;
const SETTINGS = { defaults: { ...DEFAULT_SIDECAR, image: 'registry.example.com/guardrail-pdp:0.1.0' }, all: false };
const POD = podOf(parseManifests(WORKLOADS_TEXT)[0] as K8s);

/**
 * A Secret volume as the kubelet writes it: the files live in a timestamped directory, `..data`
 * points at it, and tls.crt and tls.key point through `..data`. `rotate` swaps `..data` atomically.
 */
function secretVolume(cert: string, key: string): { dir: string; rotate(cert: string, key: string): void; writeInPlace(file: 'tls.crt' | 'tls.key', from: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pdp-injector-tls-'));
  let n = 0;
  const version = (c: string, k: string): string => {
    const name = `..2026_11_20_09_00_0${n++}`;
    mkdirSync(join(dir, name));
    copyFileSync(join(TLS, c), join(dir, name, 'tls.crt'));
    copyFileSync(join(TLS, k), join(dir, name, 'tls.key'));
    return name;
  };
  symlinkSync(version(cert, key), join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  return {
    dir,
    rotate(c, k) {
      symlinkSync(version(c, k), join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
    writeInPlace(file, from) {
      writeFileSync(join(dir, file), readFileSync(join(TLS, from)));
    },
  };
}

let injector: RunningInjector | undefined;
afterEach(async () => {
  await injector?.stop(0);
  injector = undefined;
});

async function start(dir: string): Promise<RunningInjector> {
  injector = await startInjector(
    {
      listen: { host: '127.0.0.1', port: 0 },
      adminListen: { host: '127.0.0.1', port: 0 },
      certPath: join(dir, 'tls.crt'),
      keyPath: join(dir, 'tls.key'),
      settings: SETTINGS,
    },
    pino({ level: 'silent' }),
  );
  return injector;
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function call(address: string, opts: { method?: string; path?: string; body?: string | Buffer; agent?: Agent } = {}): Promise<Reply> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, servername: 'localhost', ca: CA, method: opts.method ?? 'POST', path: opts.path ?? '/mutate', agent: opts.agent ?? false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection is presented. */
function presented(address: string): Promise<string> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function metric(admin: string, series: string): Promise<number> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1]);
}

describe('guardrail-pdp injector: the webhook', () => {
  it('answers a review over HTTPS with the patch, and is healthy and ready', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    const { webhookAddress, adminAddress } = await start(tls.dir);
    const r = await call(webhookAddress, { body: JSON.stringify(admissionReview(POD)) });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const review = JSON.parse(r.body) as { apiVersion: string; kind: string; response: Parameters<typeof patchOf>[0] };
    expect(review).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { allowed: true, patchType: 'JSONPatch' } });
    expect(() => validateObject(applyPatch(POD, patchOf(review.response)))).not.toThrow();
    expect((await fetch(`http://${adminAddress}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${adminAddress}/readyz`)).status).toBe(200);
    expect(await metric(adminAddress, 'pdp_injector_injected_total{completed="false"}')).toBe(1);
    expect(await metric(adminAddress, 'pdp_injector_requests_total{code="200"}')).toBe(1);
    expect(await metric(adminAddress, 'pdp_injector_review_duration_seconds_count')).toBe(1);
  });

  it('answers 400 with a clear message to a body that is not an AdmissionReview, and 404, 405 and 413 where due', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    const { webhookAddress, adminAddress } = await start(tls.dir);
    const notJson = await call(webhookAddress, { body: '{"kind":' });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatch(/^not an AdmissionReview the injector can answer: the body is not JSON \(/);
    const v1beta1 = await call(webhookAddress, { body: JSON.stringify({ ...admissionReview(POD), apiVersion: 'admission.k8s.io/v1beta1' }) });
    expect(v1beta1).toMatchObject({ status: 400, body: 'not an AdmissionReview the injector can answer: apiVersion must be admission.k8s.io/v1, not "admission.k8s.io/v1beta1" (set admissionReviewVersions: [v1])\n' });
    expect((await call(webhookAddress, { method: 'GET' })).status).toBe(405);
    expect((await call(webhookAddress, { path: '/validate', body: '{}' })).status).toBe(404);
    const huge = await call(webhookAddress, { body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) });
    expect(huge.status).toBe(413);
    expect(await metric(adminAddress, 'pdp_injector_errors_total{reason="bad_request"}')).toBe(4); // 400, 400, 405, 413
    expect(await metric(adminAddress, 'pdp_injector_requests_total{code="400"}')).toBe(2);
  });

  it('counts skipped and refused reviews, and admits a refused pod with a warning', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    const { webhookAddress, adminAddress } = await start(tls.dir);
    const clash = structuredClone(POD) as K8s & { spec: { containers: { name: string }[] } };
    clash.spec.containers.push({ name: 'guardrail-pdp' });
    const refused = JSON.parse((await call(webhookAddress, { body: JSON.stringify(admissionReview(clash)) })).body) as { response: { allowed: boolean; warnings: string[]; patch?: string } };
    expect(refused.response).toMatchObject({ allowed: true, warnings: ['guardrail-pdp sidecar not injected: a container named "guardrail-pdp" already exists (not injected)'] });
    expect(refused.response.patch).toBeUndefined();
    await call(webhookAddress, { body: JSON.stringify(admissionReview(POD, { operation: 'UPDATE' })) });
    expect(await metric(adminAddress, 'pdp_injector_errors_total{reason="cannot_inject"}')).toBe(1);
    expect(await metric(adminAddress, 'pdp_injector_skipped_total{reason="not_pod_create"}')).toBe(1);
  });

  it('serves many reviews on one keep-alive connection, as the API server sends them', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    const { webhookAddress } = await start(tls.dir);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const body = JSON.stringify(admissionReview(POD));
    const replies = await Promise.all(Array.from({ length: 40 }, () => call(webhookAddress, { body, agent })));
    agent.destroy();
    expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200));
  });
});

describe('guardrail-pdp injector: certificate rotation', () => {
  it('presents the new certificate on the next connection after the files are replaced', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    const { webhookAddress, adminAddress } = await start(tls.dir);
    expect(await presented(webhookAddress)).toBe(fingerprintOf('server.pem'));
    const keptAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await call(webhookAddress, { body: JSON.stringify(admissionReview(POD)), agent: keptAlive })).status).toBe(200);

    tls.rotate('rotated.pem', 'rotated.key'); // what the kubelet does when cert-manager renews the Secret
    expect(await presented(webhookAddress)).toBe(fingerprintOf('rotated.pem'));
    // Verified against the new certificate (the client trusts both), and the open connection still works.
    expect((await call(webhookAddress, { body: JSON.stringify(admissionReview(POD)) })).status).toBe(200);
    expect((await call(webhookAddress, { body: JSON.stringify(admissionReview(POD)), agent: keptAlive })).status).toBe(200);
    keptAlive.destroy();
    expect(await metric(adminAddress, 'pdp_injector_certificate_loads_total{result="ok"}')).toBe(2);
    const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(join(TLS, 'rotated.pem'))).validTo) / 1000);
    expect(await metric(adminAddress, 'pdp_injector_certificate_expiry_timestamp_seconds')).toBe(notAfter);
  });

  it('keeps serving the current pair while a new one is half written, and switches once it is whole', async () => {
    const tls = secretVolume('server.pem', 'server.key');
    // Plain files, rewritten in place one after the other (not how the kubelet writes, but how a person might).
    const dir = mkdtempSync(join(tmpdir(), 'pdp-injector-tls-plain-'));
    copyFileSync(join(tls.dir, 'tls.crt'), join(dir, 'tls.crt'));
    copyFileSync(join(tls.dir, 'tls.key'), join(dir, 'tls.key'));
    const { webhookAddress, adminAddress } = await start(dir);
    writeFileSync(join(dir, 'tls.crt'), readFileSync(join(TLS, 'rotated.pem')));
    expect(await presented(webhookAddress)).toBe(fingerprintOf('server.pem'));
    expect(await presented(webhookAddress)).toBe(fingerprintOf('server.pem'));
    expect(await metric(adminAddress, 'pdp_injector_certificate_loads_total{result="failed"}')).toBe(1); // logged once
    writeFileSync(join(dir, 'tls.key'), readFileSync(join(TLS, 'rotated.key')));
    expect(await presented(webhookAddress)).toBe(fingerprintOf('rotated.pem'));
  });
});

describe('guardrail-pdp injector: the command', () => {
  it.each([
    [['injector', '--image', 'x'], '--tls-cert and --tls-key are required'],
    [['injector', '--tls-cert', 'a', '--tls-key', 'b'], '--image IMAGE is required'],
    [['injector', '--tls-cert', 'a', '--tls-key', 'b', '--image', 'x', '--listen', 'unix:///tmp/x.sock'], '--listen: must be host:port'],
    [['injector', '--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key', '--image', 'x', '--listen', '127.0.0.1:0'], 'guardrail-pdp injector: cannot read /nonexistent.pem: ENOENT'],
    [['injector', '--tls-cert', join(TLS, 'server.pem'), '--tls-key', join(TLS, 'client.key'), '--image', 'x', '--listen', '127.0.0.1:0'], 'is not the private key of the certificate'],
  ])('exits 2 for %j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('serves until SIGTERM, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      [MAIN, 'injector', '--tls-cert', join(TLS, 'server.pem'), '--tls-key', join(TLS, 'server.key'), '--image', 'x', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve) => {
      let buf = '';
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        const line = buf.split('\n').find((l) => l.includes('"injector listening"'));
        if (line !== undefined) resolve((JSON.parse(line) as { address: string }).address);
      });
    });
    expect((await call(address, { body: JSON.stringify(admissionReview(POD)) })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
