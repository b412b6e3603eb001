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
 * A keep-alive connection pool for HTTP guardrails, created when a compiled guardrail first asks
 * for it (so a sidecar without HTTP guardrails never loads undici). One per app or CLI run, shared
 * by every snapshot; `close` lets in-flight calls finish, `destroy` ends them.
 */
export class HttpPool {
  #agent: Agent | undefined;

  /** The pool's dispatcher, created on first use. */
  get dispatcher(): Dispatcher {
    return (this.#agent ??= new (loadUndici().Agent)({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000 }));
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }

  async destroy(): Promise<void> {
    await this.#agent?.destroy();
  }
}
