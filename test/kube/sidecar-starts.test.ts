import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { injectManifests } from '../../src/kube/manifests.js';
import { DEFAULT_SIDECAR } from '../../src/kube/sidecar.js';
import type { Container, PodSpec } from '../../src/kube/types.js';
import { findTemplates, valueAt } from '../../src/kube/workloads.js';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { callResolve } from '../helpers/app.js';
import { MAIN } from '../helpers/cli.js';
import { parseManifests, WORKLOADS_TEXT } from '../helpers/kube.js';

/** The bundle deploy/base serves: what the injected sidecar reads from its ConfigMap. */
const BUNDLE = new URL('../../deploy/base/bundle.yaml', import.meta.url).pathname;

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
});

/** The injected pod spec of one workload of test/fixtures/kube/workloads.yaml. */
function injectedSpec(name: string): PodSpec {
  const out = injectManifests(WORKLOADS_TEXT, { defaults: { ...DEFAULT_SIDECAR, image: 'guardrail-pdp' }, all: false });
  const o = parseManifests(out.text).find((x) => x.metadata.name === name);
  const [location] = findTemplates(o);
  return (valueAt(o, location?.path ?? []) as { spec: PodSpec }).spec;
}

/**
 * Runs the injected container's args and env as the image's entrypoint would (node dist/cli/main.js),
 * with each volume mount's path mapped to a local directory (the bundle ConfigMap's holding the
 * bundle) and the listen ports moved to free ones; resolves once both listeners are up.
 */
async function runContainer(c: Container, rewrite: (value: string) => string): Promise<{ child: ChildProcess; admin: string; exited: Promise<number | null> }> {
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, rewrite(e.value ?? '')]));
  env.PDP_ADMIN_LISTEN = '127.0.0.1:0';
  if (!env.PDP_LISTEN?.startsWith('unix://')) env.PDP_LISTEN = '127.0.0.1:0';
  const child = spawn(process.execPath, ['--enable-source-maps', MAIN, ...(c.args ?? [])], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const admin = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      for (const line of buf.split('\n')) {
        if (line.includes('"admin HTTP listening"')) resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    void exited.then((code) => reject(new Error(`the sidecar exited ${code}: ${stderr}`)));
  });
  return { child, admin, exited };
}

async function probe(admin: string, path: string): Promise<number> {
  return (await fetch(`http://${admin}${path}`)).status;
}

describe('the injected sidecar starts', () => {
  it.each([
    ['deployment (Unix socket, the default)', 'gateway'],
    ['statefulset (TCP, by annotation)', 'gateway-sts'],
  ])('%s: its probes answer 200 and the app containers reach it at their GUARDRAIL_PDP_ADDRESS', async (_, name) => {
    const spec = injectedSpec(name);
    const sidecar = spec.initContainers?.find((c) => c.name === 'guardrail-pdp') as Container;
    const root = mkdtempSync(join(tmpdir(), 'pdp-sidecar-'));
    const local = new Map<string, string>();
    for (const m of sidecar.volumeMounts ?? []) {
      const dir = join(root, m.name);
      mkdirSync(dir);
      local.set(m.mountPath, dir);
      const volume = spec.volumes?.find((v) => v.name === m.name) as { configMap?: { name: string } };
      if (volume.configMap !== undefined) copyFileSync(BUNDLE, join(dir, 'bundle.yaml'));
    }
    const rewrite = (value: string): string => {
      for (const [mountPath, dir] of local) if (value.includes(mountPath)) return value.replace(mountPath, dir);
      return value;
    };
    const { child, admin, exited } = await runContainer(sidecar, rewrite);

    // The kubelet's order: the startup probe until it passes, then readiness and liveness.
    const paths = ['startupProbe', 'readinessProbe', 'livenessProbe'].map((p) => (sidecar[p] as { httpGet: { path: string } }).httpGet.path);
    const deadline = Date.now() + 15_000;
    while ((await probe(admin, paths[0] as string)) !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const path of paths) expect(await probe(admin, path), path).toBe(200);

    for (const app of spec.containers) {
      const address = app.env?.find((e) => e.name === 'GUARDRAIL_PDP_ADDRESS')?.value ?? '';
      if (!address.startsWith('unix://')) {
        expect(address).toBe('127.0.0.1:50051'); // the port moved for the test; the address is checked above
        continue;
      }
      // App containers run as other users: anyone who can reach the socket's directory may connect.
      expect(statSync(rewrite(address).slice('unix://'.length)).mode & 0o777).toBe(0o666);
      const client = new DecisionServiceClient(rewrite(address), credentials.createInsecure());
      const answer = await callResolve(client, { context: { teamAlias: 'billing-eu', model: 'openai/gpt-4o', tags: [] } });
      client.close();
      expect(answer.revision).toMatch(/^[0-9a-f]{16}$/);
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
