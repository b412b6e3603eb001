import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadServeConfig } from '../../src/cli/config.js';
import { ADDRESS_ENV as CLIENT_ADDRESS_ENV, DEFAULT_ADDRESS } from '../../src/client/index.js';
import { ADDRESS_ENV, ADMIN_PORT, DEFAULT_SIDECAR, LISTEN_PORT, sidecarAddress, sidecarSpec, type SidecarOptions } from '../../src/kube/sidecar.js';

const envOf = (env: readonly { name: string; value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((env ?? []).map((e) => [e.name, e.value ?? '']));
const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

const VARIANTS: Record<string, SidecarOptions> = {
  defaults: { ...DEFAULT_SIDECAR, image: 'img' },
  tcp: { ...DEFAULT_SIDECAR, image: 'img', listen: 'tcp' },
  db: { ...DEFAULT_SIDECAR, image: 'img', source: { kind: 'db', path: '/var/lib/guardrail-pdp/policies.db', volume: 'policies-db' } },
  classic: { ...DEFAULT_SIDECAR, image: 'img', native: false },
};

describe('sidecarSpec', () => {
  it("uses serve's default ports, so the constants here cannot drift from src/cli/config.ts", () => {
    expect(LISTEN_PORT).toBe(portOf(DEFAULTS.listen));
    expect(ADMIN_PORT).toBe(portOf(DEFAULTS.adminListen));
  });

  it("listens on a Unix socket by default, at the address both clients dial when given none", () => {
    expect(DEFAULT_SIDECAR.listen).toBe('unix');
    expect(sidecarAddress('unix')).toBe(DEFAULT_ADDRESS);
    // Both leaves name the variable themselves (neither imports the other): it must be one name.
    expect(ADDRESS_ENV).toBe(CLIENT_ADDRESS_ENV);
  });

  it.each(Object.entries(VARIANTS))('%s: its PDP_* variables are a valid serve configuration', (_, options) => {
    const { container, appEnv, appVolumeMounts } = sidecarSpec(options);
    const env = envOf(container.env);
    const config = loadServeConfig({}, env);
    expect(container.args).toEqual(['serve']);
    expect(config.adminListen.port).toBe(ADMIN_PORT);
    // The app containers dial where the sidecar listens.
    expect(envOf(appEnv).GUARDRAIL_PDP_ADDRESS).toBe(env.PDP_LISTEN);
    if (config.listen.kind === 'unix') {
      const dir = posix.dirname(config.listen.path);
      expect(container.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: dir }));
      expect(appVolumeMounts).toEqual([expect.objectContaining({ mountPath: dir })]);
      // The app containers run as their own users: the socket's emptyDir is what limits who connects.
      expect(config.listen.mode).toBe(0o666);
    } else {
      expect(config.listen.host).toBe('127.0.0.1');
      expect(appVolumeMounts).toEqual([]);
    }
    // Whatever it serves sits in a directory it mounts read-only.
    const dir = posix.dirname(config.source.path);
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: dir, readOnly: true }));
  });

  it('is a native sidecar (an init container that restarts) unless asked for a classic one', () => {
    expect(sidecarSpec(VARIANTS.defaults as SidecarOptions)).toMatchObject({ placement: 'initContainers', container: { restartPolicy: 'Always' } });
    const classic = sidecarSpec(VARIANTS.classic as SidecarOptions);
    expect(classic.placement).toBe('containers');
    expect(classic.container.restartPolicy).toBeUndefined();
  });

  it('adds no volume for a db (the pod has it) and one each for a bundle and a socket', () => {
    expect(sidecarSpec({ ...(VARIANTS.db as SidecarOptions), listen: 'tcp' }).volumes).toEqual([]);
    expect(sidecarSpec(VARIANTS.tcp as SidecarOptions).volumes).toEqual([{ name: 'guardrail-pdp-bundle', configMap: { name: 'guardrail-pdp-bundle' } }]);
    expect(sidecarSpec(VARIANTS.defaults as SidecarOptions).volumes).toEqual([
      { name: 'guardrail-pdp-bundle', configMap: { name: 'guardrail-pdp-bundle' } },
      { name: 'guardrail-pdp-socket', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]);
  });

  it('returns fresh objects: patching one result never changes another', () => {
    const a = sidecarSpec(VARIANTS.defaults as SidecarOptions);
    (a.container.env as { value?: string }[])[0]!.value = 'changed';
    (a.appVolumeMounts[0] as { mountPath: string }).mountPath = '/x';
    const b = sidecarSpec(VARIANTS.defaults as SidecarOptions);
    expect(b.container.env?.[0]?.value).not.toBe('changed');
    expect(b.appVolumeMounts[0]?.mountPath).not.toBe('/x');
  });
});
