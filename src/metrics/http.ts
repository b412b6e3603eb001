import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PdpError } from '../errors.js';

/**
 * How long one rendering of /metrics is served (ms), and the window scrapes are counted in.
 * Rendering every series takes milliseconds on the event loop that answers the decision API:
 * rendered for every request, 400 scrapes per second raised Resolve's p99 tenfold or worse (from
 * 16 ms to over 1 s on a busy two-core machine). Prometheus scrapes every 15 to 60 s, so a
 * second-old answer is as good as a fresh one.
 */
export const METRICS_CACHE_MS = 1000;

/**
 * Most /metrics answers per METRICS_CACHE_MS; beyond, 429 with Retry-After. Room for a
 * Prometheus HA pair scraping through both annotations and a ServiceMonitor, and a person with
 * curl; a flood costs one short refusal per request.
 */
export const MAX_SCRAPES_PER_WINDOW = 10;

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Ready means a snapshot is active. */
  readonly isReady: () => boolean;
  readonly log: Logger;
  /** Monotonic clock in ms (tests pass their own); performance.now by default. */
  readonly now?: () => number;
}

/**
 * The admin HTTP listener (pod IP, for the kubelet and Prometheus): `/metrics`, `/healthz`
 * (the process is alive) and `/readyz` (a snapshot is active). Nothing else. It shares the event
 * loop with the decision API and has no authentication (docs/operations.md), so /metrics is
 * rendered at most once per METRICS_CACHE_MS and answered at most MAX_SCRAPES_PER_WINDOW times
 * per window; the probes are never refused.
 */
export class AdminServer {
  readonly #opts: AdminServerOptions;
  readonly #server: Server;
  readonly #now: () => number;
  #cached: { readonly body: Buffer; readonly at: number } | undefined;
  #rendering: Promise<Buffer> | undefined;
  #windowStart = -Infinity;
  #windowScrapes = 0;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const ready = this.#opts.isReady();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'no snapshot active\n');
      } else if (path === '/metrics') {
        this.#scrape(res);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
  }

  #scrape(res: ServerResponse): void {
    const now = this.#now();
    if (now - this.#windowStart >= METRICS_CACHE_MS) {
      this.#windowStart = now;
      this.#windowScrapes = 0;
    }
    if (++this.#windowScrapes > MAX_SCRAPES_PER_WINDOW) {
      const retryAfterS = Math.max(1, Math.ceil((this.#windowStart + METRICS_CACHE_MS - now) / 1000));
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(retryAfterS) }).end('too many scrapes; retry later\n');
      return;
    }
    this.#render(now).then(
      (body) => res.writeHead(200, { 'content-type': this.#opts.registry.contentType, 'content-length': body.length }).end(body),
      (e: unknown) => {
        this.#opts.log.error({ err: e }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  }

  /** The exposition text, rendered at most once per METRICS_CACHE_MS (concurrent scrapes share one rendering). */
  #render(now: number): Promise<Buffer> {
    const cached = this.#cached;
    if (cached !== undefined && now - cached.at < METRICS_CACHE_MS) return Promise.resolve(cached.body);
    this.#rendering ??= this.#opts.registry
      .metrics()
      .then((text) => {
        const body = Buffer.from(text);
        this.#cached = { body, at: this.#now() };
        return body;
      })
      .finally(() => {
        this.#rendering = undefined;
      });
    return this.#rendering;
  }

  /** Listens; returns `host:port` with the real port. */
  async start(): Promise<string> {
    const { host, port } = this.#opts;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (e) =>
        reject(new PdpError('INVALID_CONFIG', `cannot listen on admin address ${host}:${port}: ${e.message}`, { cause: e })),
      );
      this.#server.listen(port, host, () => resolve());
    });
    const bound = this.#server.address() as AddressInfo;
    const address = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
    this.#opts.log.child({ component: 'admin' }).info({ address }, 'admin HTTP listening');
    return address;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
