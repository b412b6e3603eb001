import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadServeConfig, SERVE_OPTIONS } from '../../src/cli/config.js';
import { serveHelp } from '../../src/cli/serve.js';
import type { PdpError } from '../../src/errors.js';
import { cli, EXAMPLE } from '../helpers/cli.js';

const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;

/** The INVALID_CONFIG error's message lines (one per problem), or [] if the config loads. */
function problems(flags: Record<string, string | boolean>, env: Record<string, string> = {}): string[] {
  try {
    loadServeConfig(flags, env);
    return [];
  } catch (e) {
    expect((e as PdpError).code).toBe('INVALID_CONFIG');
    return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
}

describe('loadServeConfig', () => {
  it('reads --require-executable, --content-filter-categories and their variables, and hands the environment down as a lookup', () => {
    expect(loadServeConfig({ bundle: 'b.yaml' }, {})).toMatchObject({ requireExecutable: false });
    expect(loadServeConfig({ bundle: 'b.yaml' }, {}).contentFilterCategoriesDir).toBeUndefined();
    const config = loadServeConfig({ bundle: 'b.yaml' }, { PDP_REQUIRE_EXECUTABLE: '1', PDP_CONTENT_FILTER_CATEGORIES: '/cats', VENDOR_KEY: 'k' });
    expect(config).toMatchObject({ requireExecutable: true, contentFilterCategoriesDir: '/cats' });
    expect(config.lookupEnv?.('VENDOR_KEY')).toBe('k');
    expect(config.lookupEnv?.('toString')).toBeUndefined();
    expect(loadServeConfig({ bundle: 'b.yaml', 'require-executable': false, 'content-filter-categories': '/mine' }, { PDP_REQUIRE_EXECUTABLE: 'true' })).toMatchObject({
      requireExecutable: false,
      contentFilterCategoriesDir: '/mine',
    });
    expect(problems({ bundle: 'b.yaml' }, { PDP_REQUIRE_EXECUTABLE: 'yes' })).toEqual(["--require-executable: 'yes' is not a boolean; use true, false, 1 or 0"]);
  });

  it('defaults to a loopback decision API, the pod-wide admin port and the documented values', () => {
    const config = loadServeConfig({ bundle: 'b.yaml' }, {});
    expect(config).toMatchObject({
      source: { kind: 'bundle', path: 'b.yaml' },
      listen: { kind: 'tcp', host: '127.0.0.1', port: 50051 },
      adminListen: { host: '0.0.0.0', port: 9464 },
      mode: 'strict',
      logLevel: 'info',
      shutdownGraceMs: 10_000,
      debounceMs: 250,
      decisionLogSampleRate: 0,
      maxInFlight: 2048,
      loaderHeapMb: 96,
      isInsecureListenAllowed: false,
      allowShrink: false,
    });
    expect(config.tls).toBeUndefined();
  });

  it('reads PDP_* variables, and flags win over them', () => {
    const config = loadServeConfig(
      { 'max-in-flight': '64' },
      {
        PDP_DB: '/data/policies.db',
        PDP_MAX_IN_FLIGHT: '8',
        PDP_SHUTDOWN_GRACE_MS: '2500',
        PDP_DEBOUNCE_MS: '0',
        PDP_DECISION_LOG_SAMPLE_RATE: '0.25',
        PDP_INSECURE_LISTEN: 'true',
        PDP_ALLOW_SHRINK: '1',
        PDP_LISTEN: '0.0.0.0:50051',
      },
    );
    expect(config).toMatchObject({
      source: { kind: 'db', path: '/data/policies.db' },
      maxInFlight: 64,
      shutdownGraceMs: 2500,
      debounceMs: 0,
      decisionLogSampleRate: 0.25,
      isInsecureListenAllowed: true,
      allowShrink: true,
      listen: { host: '0.0.0.0' },
    });
  });

  it('reports every bad value at once', () => {
    expect(
      problems({
        'shutdown-grace-ms': '-1',
        'debounce-ms': '1.5',
        'decision-log-sample-rate': '2',
        'max-in-flight': 'lots',
        'insecure-listen': 'yes',
        'log-level': 'loud',
        mode: 'loose',
      }),
    ).toEqual([
      'give exactly one of --bundle (PDP_BUNDLE) or --db (PDP_DB): where the policies come from',
      "--mode: 'loose' is not a mode; use strict or compat",
      "--log-level: 'loud' is not a level; use fatal, error, warn, info, debug, trace, silent",
      "--shutdown-grace-ms: '-1' is not a whole number from 0 to 600000",
      "--debounce-ms: '1.5' is not a whole number from 0 to 60000",
      "--decision-log-sample-rate: '2' is not a number from 0 to 1",
      "--max-in-flight: 'lots' is not a whole number from 1 to 1000000",
      "--insecure-listen: 'yes' is not a boolean; use true, false, 1 or 0",
    ]);
  });

  it('refuses a plaintext non-loopback listen address unless --insecure-listen is given', () => {
    expect(problems({ bundle: 'b.yaml', listen: '0.0.0.0:50051' })).toEqual([expect.stringContaining('--listen: 0.0.0.0:50051 is not a loopback address')]);
    expect(problems({ bundle: 'b.yaml', listen: '0.0.0.0:50051', 'insecure-listen': true })).toEqual([]);
    expect(problems({ bundle: 'b.yaml', listen: 'localhost:50051' })).toEqual([]);
    expect(problems({ bundle: 'b.yaml', listen: 'unix:///run/pdp.sock' })).toEqual([]);
  });

  it('takes --socket-mode in octal for a Unix socket only, with the owner able to connect', () => {
    expect(loadServeConfig({ bundle: 'b.yaml', listen: 'unix:///run/pdp.sock' }, {}).listen).toEqual({ kind: 'unix', path: '/run/pdp.sock' });
    expect(loadServeConfig({ bundle: 'b.yaml', listen: 'unix:///run/pdp.sock' }, { PDP_SOCKET_MODE: '0666' }).listen).toEqual({ kind: 'unix', path: '/run/pdp.sock', mode: 0o666 });
    expect(loadServeConfig({ bundle: 'b.yaml', listen: 'unix:///run/pdp.sock', 'socket-mode': '600' }, {}).listen).toMatchObject({ mode: 0o600 });
    expect(problems({ bundle: 'b.yaml', 'socket-mode': '0666' })).toEqual(['--socket-mode: only with a unix:// --listen address']);
    for (const bad of ['rw', '0999', '1777', '0066', '66'])
      expect(problems({ bundle: 'b.yaml', listen: 'unix:///run/pdp.sock', 'socket-mode': bad })).toEqual([
        `--socket-mode: '${bad}' is not a socket mode; give octal permission bits with the owner's rw, e.g. 0660 or 0666`,
      ]);
    expect(problems({ bundle: 'b.yaml', listen: `unix:///${'d'.repeat(90)}` })).toEqual([]);
    expect(problems({ bundle: 'b.yaml', listen: `unix:///${'d'.repeat(91)}` })).toEqual([
      `--listen: 'unix:///${'d'.repeat(91)}' is not a listen address; a Unix socket path must be at most 91 bytes`,
    ]);
  });

  it('reads TLS files and allows a non-loopback address with them', () => {
    const config = loadServeConfig(
      { bundle: 'b.yaml', listen: '0.0.0.0:50051', 'tls-cert': join(TLS, 'server.pem'), 'tls-key': join(TLS, 'server.key'), 'tls-client-ca': join(TLS, 'ca.pem') },
      {},
    );
    expect(config.tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(config.tls?.clientCa?.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('reports TLS options given without their partner, and unreadable TLS files', () => {
    expect(problems({ bundle: 'b.yaml', 'tls-cert': join(TLS, 'server.pem') })).toEqual(['--tls-cert and --tls-key: give both or neither']);
    expect(problems({ bundle: 'b.yaml', 'tls-client-ca': join(TLS, 'ca.pem') })).toEqual([
      '--tls-client-ca: needs --tls-cert and --tls-key (mTLS is TLS with client certificates)',
    ]);
    expect(problems({ bundle: 'b.yaml', 'tls-cert': '/nope/cert.pem', 'tls-key': join(TLS, 'server.key'), 'max-in-flight': '0' })).toEqual([
      "--max-in-flight: '0' is not a whole number from 1 to 1000000",
      '--tls-cert: cannot read /nope/cert.pem: ENOENT',
    ]);
  });
});

describe('serve --help', () => {
  it('documents every option with its variable, and the defaults', () => {
    const help = serveHelp();
    for (const o of SERVE_OPTIONS) {
      expect(help).toContain(`--${o.flag}`);
      expect(help).toContain(o.env);
    }
    for (const d of [DEFAULTS.listen, DEFAULTS.adminListen, '10000', '2048', '250']) expect(help).toContain(`Default: ${d}.`);
  });

  it('prints the same text from the built CLI', async () => {
    const r = await cli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(serveHelp());
  });
});

describe('serve with a bad configuration', () => {
  it('exits 2 and names every bad value on stderr', async () => {
    const r = await cli(['serve', '--bundle', EXAMPLE, '--max-in-flight', '0', '--listen', '0.0.0.0:0'], {
      PDP_SHUTDOWN_GRACE_MS: 'soon',
      PDP_TLS_CLIENT_CA: '/nope/ca.pem',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--max-in-flight: '0' is not a whole number");
    expect(r.stderr).toContain("--shutdown-grace-ms: 'soon' is not a whole number");
    expect(r.stderr).toContain('--tls-client-ca: needs --tls-cert and --tls-key');
    expect(r.stderr).toContain('--listen: 0.0.0.0:0 is not a loopback address');
  });

  it('exits 2 when a TLS file cannot be read, naming it', async () => {
    const r = await cli(['serve', '--bundle', EXAMPLE, '--tls-cert', '/nope/cert.pem', '--tls-key', join(TLS, 'server.key')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tls-cert: cannot read /nope/cert.pem: ENOENT');
  });
});
