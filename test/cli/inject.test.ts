import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { injectManifests } from '../../src/kube/manifests.js';
import { DEFAULT_SIDECAR } from '../../src/kube/sidecar.js';
import { cli, cliWithStdin } from '../helpers/cli.js';
import { parseManifests, validateObject, WORKLOADS_FILE, WORKLOADS_TEXT } from '../helpers/kube.js';
import { HAS_KUBECTL } from '../helpers/kubectl.js';

const IMAGE = 'registry.example.com/guardrail-pdp:0.1.0';
const tempFile = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'pdp-inject-')), name);
  writeFileSync(path, text);
  return path;
};

describe('guardrail-pdp inject', () => {
  it('writes the injected manifests to stdout and a summary to stderr', async () => {
    const r = await cli(['inject', '-f', WORKLOADS_FILE, '--image', IMAGE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(injectManifests(WORKLOADS_TEXT, { defaults: { ...DEFAULT_SIDECAR, image: IMAGE }, all: false }).text);
    expect(r.stderr).toBe(
      'guardrail-pdp inject: 7 pod template(s) injected, 0 already injected, 2 not selected (label or annotate them guardrail-pdp.dev/inject: "true", or pass --all)\n',
    );
    for (const o of parseManifests(r.stdout)) if (!['ConfigMap', 'Service'].includes(o.kind)) expect(() => validateObject(o)).not.toThrow();
  });

  it('reads stdin (no -f, or -), and is idempotent', async () => {
    const once = await cliWithStdin(['inject', '--image', IMAGE], WORKLOADS_TEXT);
    const dash = await cliWithStdin(['inject', '-', '--image', IMAGE], WORKLOADS_TEXT);
    expect(dash.stdout).toBe(once.stdout);
    const twice = await cliWithStdin(['inject', '-f', '-', '--image', IMAGE], once.stdout);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toBe(once.stdout);
    expect(twice.stderr).toMatch(/0 pod template\(s\) injected, 7 already injected, 2 not selected/);
  });

  it('takes the flags as defaults, checked as the annotations are', async () => {
    const r = await cli(['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--socket', 'false', '--all', '--memory-limit', '512Mi', '--bundle-configmap', 'policies']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      injectManifests(WORKLOADS_TEXT, {
        defaults: { ...DEFAULT_SIDECAR, image: IMAGE, listen: 'tcp', source: { kind: 'bundle', configMap: 'policies' }, resources: { ...DEFAULT_SIDECAR.resources, memoryLimit: '512Mi' } },
        all: true,
      }).text,
    );
  });

  it('exits 1, writing nothing, when a template that asks for the sidecar cannot have it', async () => {
    const r = await cli(['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--classic-sidecar']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${WORKLOADS_FILE}: job/policy-check (document 5): cannot inject: a classic sidecar never exits, so this pod (restartPolicy Never) would never complete; use native sidecars\n`);
    expect(r.stderr).toContain('cronjob/nightly-report (document 6): cannot inject: a classic sidecar never exits');
    expect(r.stderr).toContain('2 pod template(s) cannot have the sidecar; nothing written');
  });

  it.each([
    [['inject', '-f', WORKLOADS_FILE], '--image IMAGE is required'],
    [['inject', '-f', WORKLOADS_FILE, '--image', 'a b'], "--image: 'a b' is not an image reference"],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--cpu-request', 'lots'], "--cpu-request: 'lots' is not a CPU quantity"],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--db-volume', 'v'], '--db-volume: needs --db'],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--socket', 'yes'], "--socket: 'yes' is not"],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--socket'], "Option '--socket <value>' argument missing"],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, 'extra.yaml'], "unexpected argument 'extra.yaml'"],
    [['inject', '-f', WORKLOADS_FILE, '--image', IMAGE, '--nope'], "Unknown option '--nope'"],
    [['inject', '-f', '/nonexistent.yaml', '--image', IMAGE], 'cannot read /nonexistent.yaml: ENOENT'],
  ])('exits 2 for %j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('exits 2 for input that is not YAML, with the line', async () => {
    const r = await cliWithStdin(['inject', '--image', IMAGE], 'kind: [unclosed\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^stdin: .* at line \d+, column \d+/);
  });

  it('prints its usage with --help', async () => {
    const r = await cli(['inject', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: guardrail-pdp inject [-f FILE | -] --image IMAGE [options]');
  });

  // `kubectl create --dry-run=client` needs an API server (it maps kinds to resources through
  // discovery), so the offline check is `kubectl set env --local`, which decodes every object
  // into kubectl's own Go types (a wrong type fails) and lists each container's variables.
  it.runIf(HAS_KUBECTL)('kubectl decodes the output offline and sees the sidecar and the address in every pod template', async () => {
    const r = await cli(['inject', '-f', WORKLOADS_FILE, '--image', IMAGE]);
    const listed = execFileSync('kubectl', ['set', 'env', '--local', '--list', '-f', tempFile('out.yaml', r.stdout)], { encoding: 'utf8' });
    for (const name of ['Deployment gateway', 'StatefulSet gateway-sts', 'DaemonSet gateway-ds', 'ReplicaSet gateway-rs', 'Job policy-check', 'CronJob nightly-report', 'Pod gateway-db']) {
      expect(listed).toContain(`# ${name}, container guardrail-pdp\nPDP_`);
    }
    expect(listed).toContain('# Pod gateway-db, container guardrail-pdp\nPDP_DB=/var/lib/guardrail-pdp/policies.db\n');
    expect(listed).toContain('# Deployment gateway, container gateway\nGUARDRAIL_PDP_ADDRESS=unix:///var/run/guardrail-pdp/pdp.sock\n');
    expect(listed).not.toContain('# Deployment not-selected, container guardrail-pdp');
  });
});
