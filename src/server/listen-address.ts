import { PdpError } from '../errors.js';

/** A parsed listen address: TCP host and port, or a Unix socket path. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/**
 * Parses `host:port`, `[v6]:port` or `unix:///absolute/path`. Throws INVALID_CONFIG naming the
 * option and the accepted forms.
 */
export function parseListenAddress(value: string, option: string): ListenAddress {
  if (value.startsWith('unix:')) {
    const path = value.startsWith('unix://') ? value.slice('unix://'.length) : value.slice('unix:'.length);
    if (!path.startsWith('/')) throw bad(option, value, 'a Unix socket path must be absolute: unix:///run/pdp.sock');
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw bad(option, value, 'expected host:port, [ipv6]:port or unix:///path');
  return { kind: 'tcp', host: (m[1] ?? m[2]) as string, port };
}

/** The address in grpc-js `bindAsync` form. */
export function toGrpcTarget(a: ListenAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

function bad(option: string, value: string, hint: string): PdpError {
  return new PdpError('INVALID_CONFIG', `${option}: '${value}' is not a listen address; ${hint}`);
}
