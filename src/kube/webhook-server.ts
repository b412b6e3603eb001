import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { reviewAdmission, type ReviewOutcome } from './admission.js';
import type { InjectorMetrics } from './metrics.js';
import type { InjectSettings } from './plan.js';

/** The path the MutatingWebhookConfiguration calls (deploy/injector/base/webhook.yaml). */
export const WEBHOOK_PATH = '/mutate';
/** Larger bodies get 413. A pod is at most ~1.5 MB (etcd's limit); a review carries one. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How often the certificate files are checked when no connection arrives (for the expiry gauge). */
const IDLE_CHECK_MS = 30_000;

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  /** PEM certificate (chain) and key, e.g. a cert-manager Secret mounted as a directory. */
  readonly certPath: string;
  readonly keyPath: string;
  readonly settings: InjectSettings;
  readonly metrics: InjectorMetrics;
  readonly log: Logger;
}

interface LoadedCertificate {
  /** Identifies the files' versions: device, inode, size and mtime of both (symlinks followed). */
  readonly stamp: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly fingerprint: string;
  readonly notAfterSeconds: number;
}

/**
 * The HTTPS admission webhook: POST /mutate answers an AdmissionReview (reviewAdmission). The
 * certificate and key are re-read when they change, checked before every new connection's
 * handshake (a stat of each file), so the connection after a rotation (cert-manager renewing the
 * Secret, the kubelet swapping the mounted files) presents the new certificate. A pair that does
 * not load (a key that does not match, a half-written file) is logged and the current one kept.
 */
export class WebhookServer {
  readonly #opts: WebhookServerOptions;
  readonly #log: Logger;
  readonly #server: Server;
  #current: LoadedCertificate;
  /** The stamp of the last pair that failed to load, so a bad pair is logged once. */
  #failedStamp: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #listening = false;
  #stopping = false;

  /** Reads the certificate and key; throws an Error naming the file when they do not load. */
  constructor(opts: WebhookServerOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'injector' });
    this.#current = loadCertificate(opts.certPath, opts.keyPath);
    opts.metrics.observeCertificate('ok', this.#current.notAfterSeconds);
    this.#server = createServer(
      { cert: this.#current.cert, key: this.#current.key, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 30_000 },
      (req, res) => this.#handle(req, res),
    );
    // Before the TLS listener that wraps the socket, so a new pair serves this very connection.
    this.#server.prependListener('connection', () => this.checkCertificate());
    this.#server.on('tlsClientError', (e) => this.#log.debug({ err: e }, 'TLS handshake failed'));
  }

  /** The certificate being served: its SHA-256 fingerprint and notAfter. */
  get certificate(): { fingerprint: string; notAfterSeconds: number } {
    return { fingerprint: this.#current.fingerprint, notAfterSeconds: this.#current.notAfterSeconds };
  }

  /** Ready once listening, until stop begins. */
  isReady(): boolean {
    return this.#listening && !this.#stopping;
  }

  /** Reloads the pair if either file changed. Returns true when a new pair is now served. */
  checkCertificate(): boolean {
    const { certPath, keyPath } = this.#opts;
    let stamp: string;
    try {
      stamp = stampOf(certPath, keyPath);
    } catch (e) {
      this.#reportFailure(`missing:${(e as Error).message}`, e, 'cannot stat the certificate or key; serving the current pair');
      return false;
    }
    if (stamp === this.#current.stamp || stamp === this.#failedStamp) return false;
    let next: LoadedCertificate;
    try {
      next = loadCertificate(certPath, keyPath);
    } catch (e) {
      this.#reportFailure(stamp, e, 'cannot load the new certificate and key; serving the current pair');
      return false;
    }
    this.#server.setSecureContext({ cert: next.cert, key: next.key });
    this.#current = next;
    this.#failedStamp = undefined;
    this.#opts.metrics.observeCertificate('ok', next.notAfterSeconds);
    this.#log.info(
      { fingerprint: next.fingerprint, notAfter: new Date(next.notAfterSeconds * 1000).toISOString() },
      'serving a new certificate',
    );
    return true;
  }

  #reportFailure(stamp: string, e: unknown, message: string): void {
    if (stamp === this.#failedStamp) return;
    this.#failedStamp = stamp;
    this.#opts.metrics.observeCertificate('failed');
    this.#log.warn({ err: e, certPath: this.#opts.certPath, keyPath: this.#opts.keyPath }, message);
  }

  /** Listens; returns `host:port` with the real port. */
  async start(): Promise<string> {
    const { host, port } = this.#opts;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (e) => reject(new Error(`cannot listen on ${host}:${port}: ${e.message}`, { cause: e })));
      this.#server.listen(port, host, () => resolve());
    });
    this.#listening = true;
    this.#timer = setInterval(() => this.checkCertificate(), IDLE_CHECK_MS).unref();
    const bound = this.#server.address() as AddressInfo;
    const address = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
    this.#log.info(
      { address, path: WEBHOOK_PATH, fingerprint: this.#current.fingerprint, all: this.#opts.settings.all, native: this.#opts.settings.defaults.native },
      'injector listening',
    );
    return address;
  }

  /** Stops accepting connections, lets requests in flight finish for up to `graceMs`, then closes the rest. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    if (path !== WEBHOOK_PATH) {
      text(res, 404, `not found: the webhook path is ${WEBHOOK_PATH}\n`);
      return;
    }
    const finish = (status: number, outcome?: ReviewOutcome): void =>
      this.#opts.metrics.observe(status, (performance.now() - started) / 1000, outcome);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      text(res, 405, `${WEBHOOK_PATH} takes POST with an AdmissionReview\n`);
      finish(405);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        res.setHeader('connection', 'close');
        text(res, 413, `the AdmissionReview is larger than ${MAX_BODY_BYTES} bytes\n`);
        finish(413);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch (e) {
        text(res, 400, `not an AdmissionReview the injector can answer: the body is not JSON (${(e as Error).message})\n`);
        finish(400);
        return;
      }
      const result = reviewAdmission(body, this.#opts.settings);
      if (result.status === 400) {
        text(res, 400, `${result.message}\n`);
        finish(400);
        this.#log.warn({ reason: result.message }, 'bad request');
        return;
      }
      const json = JSON.stringify(result.review);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
      finish(200, result.outcome);
      const { outcome, pod } = result;
      if (outcome.kind === 'injected') this.#log.info({ pod, completed: outcome.completed, operations: result.ops.length }, 'sidecar injected');
      else if (outcome.kind === 'refused') this.#log.warn({ pod, reasons: outcome.reasons }, 'sidecar not injected: admitted unchanged');
      else if (outcome.kind === 'error') this.#log.error({ pod, err: outcome.error }, 'injection failed: admitted unchanged');
      else this.#log.debug({ pod, why: outcome.why }, 'skipped');
    });
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
}

function stampOf(certPath: string, keyPath: string): string {
  return [certPath, keyPath]
    .map((p) => {
      const s = statSync(p);
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    })
    .join('|');
}

/** Reads and checks a certificate and key: both PEM, the key the certificate's. Throws naming the problem. */
export function loadCertificate(certPath: string, keyPath: string): LoadedCertificate {
  const unreadable = (path: string, e: unknown): Error => new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  let stamp: string;
  let cert: Buffer;
  let key: Buffer;
  try {
    // Stamp first: a change between the stamp and the read is seen again at the next check.
    stamp = stampOf(certPath, keyPath);
  } catch (e) {
    throw unreadable((e as { path?: string }).path ?? certPath, e);
  }
  try {
    cert = readFileSync(certPath);
  } catch (e) {
    throw unreadable(certPath, e);
  }
  try {
    key = readFileSync(keyPath);
  } catch (e) {
    throw unreadable(keyPath, e);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new Error(`${certPath} is not a PEM certificate`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`${keyPath} is not the private key of the certificate in ${certPath} (${(e as Error).message})`);
  }
  return { stamp, cert, key, fingerprint: x509.fingerprint256, notAfterSeconds: Math.floor(Date.parse(x509.validTo) / 1000) };
}
