import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PdpError } from '../errors.js';

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Ready means a snapshot is active. */
  readonly isReady: () => boolean;
  readonly log: Logger;
}

/**
 * The admin HTTP listener (pod IP, for the kubelet and Prometheus): `/metrics`, `/healthz`
 * (the process is alive) and `/readyz` (a snapshot is active). Nothing else.
 */
export class AdminServer {
  readonly #opts: AdminServerOptions;
  readonly #server: Server;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
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
        this.#opts.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': this.#opts.registry.contentType }).end(body),
          (e: unknown) => {
            this.#opts.log.error({ err: e }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
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
