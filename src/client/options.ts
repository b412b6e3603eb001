import { credentials, status, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { PdpClientError } from './errors.js';

/**
 * What the client does when the sidecar cannot answer a Resolve: `closed` raises the error;
 * `stale` answers with the last cached answer for that request, marked `stale: true`, and raises
 * only when there is none. ExecutePipeline always raises (its answers are never cached).
 */
export type FailMode = 'closed' | 'stale';

/** TLS for the connection: PEM contents (not paths). Without `ca`, the system's root CAs are trusted. */
export interface TlsOptions {
  /** CA certificate(s) to trust for the server's certificate. */
  readonly ca?: string | Buffer;
  /** Client certificate (chain) and its key, for a server that requires mTLS (`serve --tls-client-ca`). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** The name to check the server's certificate against, when it differs from the address's host. */
  readonly serverName?: string;
}

/** Bounds of the decision cache. */
export interface CacheOptions {
  /** At most this many answers (default 10,000). */
  readonly maxEntries?: number;
  /** At most this many bytes, estimated (see docs/clients.md; default 16 MiB). */
  readonly maxBytes?: number;
}

/**
 * The variable that names the sidecar's address in every app container of an injected pod (and in
 * deploy/base): `unix:///path` or `host:port`.
 */
export const ADDRESS_ENV = 'GUARDRAIL_PDP_ADDRESS';

/** The address of an injected sidecar (its Unix socket), used when neither the options nor ADDRESS_ENV give one. */
export const DEFAULT_ADDRESS = 'unix:///var/run/guardrail-pdp/pdp.sock';

/**
 * createClient's options. Give at most one of `address` and `socketPath`; with neither, the
 * client dials `$GUARDRAIL_PDP_ADDRESS`, else DEFAULT_ADDRESS (the injected sidecar's socket).
 */
export interface ClientOptions {
  /** `host:port`, `[ipv6]:port` or `unix:///path` of the sidecar's decision API (`serve --listen`). */
  readonly address?: string;
  /** Absolute path of the sidecar's Unix socket (`serve --listen unix:///path`). */
  readonly socketPath?: string;
  /** TLS (`true`: trust the system's root CAs); plaintext when absent. */
  readonly tls?: TlsOptions | true;
  /** Deadline of each call, from when it is made (default 1000 ms); a call may override it. */
  readonly deadlineMs?: number;
  /** Default `closed`. */
  readonly failMode?: FailMode;
  /** The Watch-invalidated Resolve cache (on by default); `false` turns it and its Watch stream off. */
  readonly cache?: CacheOptions | false;
  /** Backoff between attempts to reopen the cache's Watch stream: doubles from `initialMs` up to `maxMs`, with jitter. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Extra grpc-js channel options (keepalive, message sizes...). */
  readonly channelOptions?: ChannelOptions;
}

/** Options checked, with their defaults applied. */
export interface Settings {
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly deadlineMs: number;
  readonly failMode: FailMode;
  readonly cache: { readonly maxEntries: number; readonly maxBytes: number } | undefined;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
}

export const CLIENT_DEFAULTS = Object.freeze({
  deadlineMs: 1000,
  failMode: 'closed' as FailMode,
  maxEntries: 10_000,
  maxBytes: 16 * 1024 * 1024,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
});

/** Checks the options (every problem at once, as INVALID_ARGUMENT) and applies the defaults. */
export function toSettings(o: ClientOptions, env: Readonly<Record<string, string | undefined>> = process.env): Settings {
  const problems: string[] = [];
  if (o.address !== undefined && o.socketPath !== undefined) problems.push('give one of address or socketPath, not both');
  const fromEnv = env[ADDRESS_ENV] === '' ? undefined : env[ADDRESS_ENV];
  const address = o.socketPath !== undefined ? undefined : (o.address ?? fromEnv ?? DEFAULT_ADDRESS);
  const named = o.address !== undefined ? 'address' : `${ADDRESS_ENV} (no address given)`;
  if (address !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):\d{1,5}$/.test(address) && !address.startsWith('unix:'))
    problems.push(`${named} '${address}' is not host:port, [ipv6]:port or unix:///path`);
  if (o.socketPath !== undefined && !o.socketPath.startsWith('/')) problems.push(`socketPath '${o.socketPath}' must be an absolute path`);
  const deadlineMs = positive(o.deadlineMs, CLIENT_DEFAULTS.deadlineMs, 'deadlineMs', problems);
  const failMode = o.failMode ?? CLIENT_DEFAULTS.failMode;
  if (failMode !== 'closed' && failMode !== 'stale') problems.push(`failMode '${String(failMode)}' is not closed or stale`);
  const cache =
    o.cache === false
      ? undefined
      : {
          maxEntries: positive(o.cache?.maxEntries, CLIENT_DEFAULTS.maxEntries, 'cache.maxEntries', problems),
          maxBytes: positive(o.cache?.maxBytes, CLIENT_DEFAULTS.maxBytes, 'cache.maxBytes', problems),
        };
  const initialMs = positive(o.reconnect?.initialMs, CLIENT_DEFAULTS.reconnectInitialMs, 'reconnect.initialMs', problems);
  const maxMs = positive(o.reconnect?.maxMs, Math.max(CLIENT_DEFAULTS.reconnectMaxMs, initialMs), 'reconnect.maxMs', problems);
  if (problems.length > 0) throw new PdpClientError(status.INVALID_ARGUMENT, `createClient: ${problems.join('; ')}`);

  const target = o.socketPath !== undefined ? `unix://${o.socketPath}` : (address as string);
  const channelOptions: ChannelOptions = { ...o.channelOptions };
  let creds = credentials.createInsecure();
  if (o.tls !== undefined) {
    const tls = o.tls === true ? {} : o.tls;
    creds = credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
    if (tls.serverName !== undefined) {
      channelOptions['grpc.ssl_target_name_override'] = tls.serverName;
      channelOptions['grpc.default_authority'] = tls.serverName;
    }
  }
  return { target, credentials: creds, channelOptions, deadlineMs, failMode, cache, reconnect: { initialMs, maxMs } };
}

function positive(v: number | undefined, fallback: number, name: string, problems: string[]): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) problems.push(`${name} must be a number above 0`);
  return v;
}

function pem(v: string | Buffer | undefined): Buffer | null {
  return v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
}
