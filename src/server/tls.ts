import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';

/** Paths of the decision API's TLS files (PEM), as configured. */
export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  /** CA bundle for client certificates; when set, clients must present one (mTLS). */
  readonly clientCaPath?: string;
}

/** The TLS files' contents, read and checked once at startup. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

/**
 * Reads and checks the TLS files: each must be readable PEM, the certificate must parse and match
 * the key, the client CA must hold a certificate. Returns the material, or every problem found
 * (each naming the option and the path) so the caller can report them with its own.
 */
export function readTlsFiles(files: TlsFiles): { material?: TlsMaterial; problems: string[] } {
  const problems: string[] = [];
  const read = (option: string, path: string): Buffer | undefined => {
    try {
      return readFileSync(path);
    } catch (e) {
      problems.push(`${option}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
  };
  const cert = read('--tls-cert', files.certPath);
  const key = read('--tls-key', files.keyPath);
  const clientCa = files.clientCaPath === undefined ? undefined : read('--tls-client-ca', files.clientCaPath);
  let x509: X509Certificate | undefined;
  if (cert !== undefined)
    x509 = attempt(() => new X509Certificate(cert), `--tls-cert: ${files.certPath} is not a PEM certificate`, problems);
  const privateKey =
    key === undefined ? undefined : attempt(() => createPrivateKey(key), `--tls-key: ${files.keyPath} is not a PEM private key`, problems);
  if (x509 !== undefined && privateKey !== undefined && !x509.checkPrivateKey(privateKey))
    problems.push(`--tls-key: ${files.keyPath} is not the private key of the certificate in ${files.certPath}`);
  if (clientCa !== undefined)
    attempt(() => new X509Certificate(clientCa), `--tls-client-ca: ${files.clientCaPath} is not a PEM certificate`, problems);
  if (problems.length > 0 || cert === undefined || key === undefined) return { problems };
  return { material: clientCa === undefined ? { cert, key } : { cert, key, clientCa }, problems };
}

/**
 * Server credentials for the decision API: TLS with the given certificate, and with a client CA
 * also mTLS (a client without a certificate signed by that CA fails the handshake).
 */
export function toServerCredentials(tls: TlsMaterial | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

function attempt<T>(fn: () => T, message: string, problems: string[]): T | undefined {
  try {
    return fn();
  } catch {
    problems.push(message);
    return undefined;
  }
}
