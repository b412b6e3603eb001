import { readFileSync } from 'node:fs';
import { createClient, GrpcStatus, type ClientOptions, type PdpClient, type PdpClientError, type TlsOptions } from '../client/index.js';
import type { SourceConfig } from '../sources/create-source.js';
import { EXIT, type CliIo } from './io.js';
import { sourceFromFlags } from './load.js';

// The flags of the commands that ask a running sidecar (`resolve`, `pipeline`, `watch`, `health`
// with --server or --socket), and what they share: one client (src/client/), its errors as exit codes.

/** Exit code when the sidecar could not answer (unreachable, UNAVAILABLE, DEADLINE_EXCEEDED...). */
export const EXIT_NO_ANSWER = 3;

/** parseArgs options for the connection flags. */
export const REMOTE_OPTIONS = {
  server: { type: 'string' },
  socket: { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
} as const;

/** The connection flags and --timeout-ms. */
export const REMOTE_CALL_OPTIONS = { ...REMOTE_OPTIONS, 'timeout-ms': { type: 'string' } } as const;

/** The connection flags' usage, for the commands' usage texts. */
export const REMOTE_USAGE =
  '(--server HOST:PORT | --socket PATH) [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]';

/** The help lines for the connection flags; `timeout` says what --timeout-ms bounds, with its default (none: no such flag). */
export function remoteHelp(timeout?: string): string {
  return `Asking a running sidecar:
  --server HOST:PORT      Its decision API (serve --listen), e.g. 127.0.0.1:50051.
  --socket PATH           Or its Unix socket (serve --listen unix:///PATH).
  --tls                   Use TLS, trusting the system's root CAs (implied by the other --tls-* flags).
  --tls-ca FILE           PEM CA certificate(s) to trust for the sidecar's certificate.
  --tls-cert FILE         PEM client certificate, for a sidecar that requires one (serve --tls-client-ca),
  --tls-key FILE          and its private key.
  --tls-server-name NAME  The name the sidecar's certificate must carry, when not the host of --server.
${timeout === undefined ? '' : `  --timeout-ms MS         ${timeout}\n`}`;
}

type RemoteFlags = { readonly [K in keyof typeof REMOTE_CALL_OPTIONS]?: (typeof REMOTE_CALL_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The offline source of a command that can also ask a sidecar: its --bundle or --db, or a problem. */
export function offlineSource(flags: { readonly bundle?: string; readonly db?: string }, problems: string[]): SourceConfig {
  if (flags.bundle === undefined && flags.db === undefined)
    problems.push('give --bundle FILE or --db FILE.db to answer offline, or --server or --socket to ask a running sidecar');
  return sourceFromFlags(flags, flags.bundle === undefined && flags.db === undefined ? [] : problems);
}

/** True when the flags name a running sidecar (--server or --socket). */
export function isRemote(flags: RemoteFlags): boolean {
  return flags.server !== undefined || flags.socket !== undefined;
}

/**
 * The client options the flags give (cache off: one command, one answer per request), reading the
 * TLS files; problems are added to `problems`. `timeoutMs` is the --timeout-ms default.
 */
export function remoteFromFlags(flags: RemoteFlags, timeoutMs: number, problems: string[]): ClientOptions & { readonly deadlineMs: number } {
  if ((flags.server === undefined) === (flags.socket === undefined)) problems.push('give exactly one of --server or --socket');
  let deadlineMs = timeoutMs;
  if (flags['timeout-ms'] !== undefined) {
    deadlineMs = /^\d+$/.test(flags['timeout-ms']) ? Number(flags['timeout-ms']) : NaN;
    if (!(deadlineMs >= 1 && deadlineMs <= 3_600_000)) problems.push(`--timeout-ms: '${flags['timeout-ms']}' is not a whole number from 1 to 3600000`);
  }
  const read = (flag: 'tls-ca' | 'tls-cert' | 'tls-key'): Buffer | undefined => {
    const path = flags[flag];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      problems.push(`--${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) problems.push('--tls-cert and --tls-key: give both or neither');
  const ca = read('tls-ca');
  const cert = read('tls-cert');
  const key = read('tls-key');
  const serverName = flags['tls-server-name'];
  const hasTls = flags.tls === true || [ca, cert, key, serverName].some((v) => v !== undefined);
  const tls: TlsOptions = { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(serverName !== undefined && { serverName }) };
  return {
    ...(flags.socket !== undefined ? { socketPath: flags.socket } : { address: flags.server ?? '' }),
    ...(hasTls && { tls }),
    deadlineMs: Number.isFinite(deadlineMs) ? deadlineMs : timeoutMs,
    cache: false,
  };
}

/** Creates the command's client, or reports the option problem it throws (exit 2). */
export function connect(options: ClientOptions, io: CliIo, usage: string): PdpClient | number {
  try {
    return createClient(options);
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n${usage}`);
    return EXIT.USAGE;
  }
}

/**
 * Prints a call's error as `where: CODE: details` and returns its exit code: 2 when the request was
 * refused (INVALID_ARGUMENT, NOT_FOUND: the same as a bad input offline), EXIT_NO_ANSWER otherwise.
 */
export function reportCallError(e: PdpClientError, where: string, io: CliIo): number {
  io.stderr.write(`${where}: ${e.message}\n`);
  return e.code === GrpcStatus.INVALID_ARGUMENT || e.code === GrpcStatus.NOT_FOUND ? EXIT.USAGE : EXIT_NO_ANSWER;
}
