import { createRequire } from 'node:module';
import type { Agent, Dispatcher } from 'undici';

type Undici = typeof import('undici');
let undici: Undici | undefined;

/**
 * undici, loaded on first use: loading it costs ~20 MiB of RSS, and most bundles define no HTTP
 * guardrail. (A module reference, cached like any import; it holds no state of ours.)
 */
export function loadUndici(): Undici {
  return (undici ??= createRequire(import.meta.url)('undici') as Undici);
}

/**
 * Most connections the pool opens to one guardrail origin. Requests beyond it wait in the pool for
 * a free connection (within their step's time limit, and cancelled with their call), so a vendor
 * that hangs, or a storm of cancelled calls whose aborted requests each leave a fresh connection
 * behind, holds at most this many file descriptors per origin.
 */
export const MAX_CONNECTIONS_PER_ORIGIN = 128;

/**
 * A keep-alive connection pool for HTTP guardrails, created when a compiled guardrail first asks
 * for it (so a sidecar without HTTP guardrails never loads undici). One per app or CLI run, shared
 * by every snapshot; `close` lets in-flight calls finish, `destroy` ends them.
 */
export class HttpPool {
  #agent: Agent | undefined;

  /** The pool's dispatcher, created on first use. */
  get dispatcher(): Dispatcher {
    return (this.#agent ??= new (loadUndici().Agent)({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: MAX_CONNECTIONS_PER_ORIGIN,
    }));
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }

  async destroy(): Promise<void> {
    await this.#agent?.destroy();
  }
}
