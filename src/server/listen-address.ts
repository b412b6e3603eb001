import { BlockList, isIP } from 'node:net';
import { PdpError } from '../errors.js';

/**
 * Who may connect to the decision API's Unix socket unless `--socket-mode` says otherwise: its
 * owner and the owner's group (connecting needs write permission on the socket file).
 */
export const DEFAULT_SOCKET_MODE = 0o660;

/**
 * The longest Unix socket path accepted, in bytes: the kernel's limit is 107, and the server binds
 * first at a path 16 bytes longer, in a private directory beside it (grpc.ts).
 */
export const MAX_SOCKET_PATH_BYTES = 91;

/** A parsed listen address: TCP host and port, or a Unix socket path and its file mode. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string; /** Default DEFAULT_SOCKET_MODE. */ readonly mode?: number };

/**
 * Parses `host:port`, `[v6]:port` or `unix:///absolute/path`. Throws INVALID_CONFIG naming the
 * option and the accepted forms.
 */
export function parseListenAddress(value: string, option: string): ListenAddress {
  if (value.startsWith('unix:')) {
    const path = value.startsWith('unix://') ? value.slice('unix://'.length) : value.slice('unix:'.length);
    if (!path.startsWith('/')) throw bad(option, value, 'a Unix socket path must be absolute: unix:///run/pdp.sock');
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw bad(option, value, `a Unix socket path must be at most ${MAX_SOCKET_PATH_BYTES} bytes`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw bad(option, value, 'expected host:port, [ipv6]:port or unix:///path');
  return { kind: 'tcp', host: (m[1] ?? m[2]) as string, port };
}

/**
 * Parses a socket file mode in octal (`0660`, `666`): permission bits only, and at least the
 * owner's read and write, or the sidecar could not use its own socket. Throws INVALID_CONFIG.
 */
export function parseSocketMode(value: string, option: string): number {
  const mode = /^0?[0-7]{3}$/.test(value) ? Number.parseInt(value, 8) : NaN;
  if (Number.isNaN(mode) || (mode & 0o600) !== 0o600)
    throw new PdpError('INVALID_CONFIG', `${option}: '${value}' is not a socket mode; give octal permission bits with the owner's rw, e.g. 0660 or 0666`);
  return mode;
}

/** The address in grpc-js `bindAsync` form. */
export function toGrpcTarget(a: ListenAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** 127.0.0.0/8 and ::1; BlockList also matches their IPv4-mapped and long IPv6 spellings. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether only this machine can reach the address: a Unix socket, `localhost`, 127.0.0.0/8 or
 * ::1 (also as an IPv4-mapped or fully written IPv6 address). Any other host name is not, since
 * it may resolve to anything.
 */
export function isLoopback(a: ListenAddress): boolean {
  if (a.kind === 'unix') return true;
  const host = a.host.toLowerCase();
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The reason the decision API must not listen on `listen` with these settings, or undefined:
 * plaintext on a non-loopback address needs an explicit `--insecure-listen`.
 */
export function listenRefusal(listen: ListenAddress, hasTls: boolean, isInsecureListenAllowed: boolean): string | undefined {
  if (hasTls || isInsecureListenAllowed || isLoopback(listen)) return undefined;
  return (
    `--listen: ${toGrpcTarget(listen)} is not a loopback address, and serving the decision API there without TLS ` +
    'lets anything on the network ask for decisions; give --tls-cert and --tls-key (and --tls-client-ca for mTLS), ' +
    'listen on 127.0.0.1 or a unix:// socket, or pass --insecure-listen to accept plaintext'
  );
}

function bad(option: string, value: string, hint: string): PdpError {
  return new PdpError('INVALID_CONFIG', `${option}: '${value}' is not a listen address; ${hint}`);
}
