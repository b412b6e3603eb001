import type { Logger } from 'pino';
import { compile, revisionOf } from '../compile/compile.js';
import { runSliced } from '../compile/steps.js';
import type { GuardrailEnv } from '../guardrails/kind.js';
import { PdpError } from '../errors.js';
import type { Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import type { PolicySource } from '../sources/source.js';
import type { SnapshotHolder } from './holder.js';

/** What one activation did. A failure never touches the active snapshot. */
export type ActivationResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly isChanged: boolean; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly error: PdpError; readonly issues: readonly Issue[] };

/** The last failed activation, for status and diagnostics. */
export interface ActivationFailure {
  readonly at: Date;
  readonly origin: string;
  readonly message: string;
  readonly issues: readonly Issue[];
}

/**
 * What Watch subscribers hear: a new snapshot was swapped in, or an attempt failed (the serving
 * snapshot, if any, is unchanged). An attempt that finds the same revision produces no event.
 */
export type ActivationEvent =
  | { readonly kind: 'activated'; readonly at: Date; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
  | { readonly kind: 'failed'; readonly at: Date; readonly failure: ActivationFailure; readonly serving: Snapshot | undefined };

export interface ActivatorOptions {
  readonly source: PolicySource;
  readonly holder: SnapshotHolder;
  readonly mode: ValidationMode;
  /** Passed to compile: what guardrails use at run time (the app's HTTP pool, observers). */
  readonly guardrailEnv?: GuardrailEnv;
  readonly log: Logger;
  /** Called after every attempt (metrics, Watch). */
  readonly onResult?: (result: ActivationResult, durationMs: number) => void;
}

/**
 * The single writer: load, compile, swap. At most one activation runs at a time; triggers that
 * arrive meanwhile coalesce into one more run. A bundle with issues is never served: the previous
 * snapshot keeps serving and the failure is logged and recorded. Neither step blocks the event
 * loop for long: sources load on a loader thread, and compile runs in slices of a few milliseconds.
 */
export class Activator {
  readonly #opts: ActivatorOptions;
  readonly #log: Logger;
  #running: Promise<ActivationResult> | undefined;
  #queued: Promise<ActivationResult> | undefined;
  #lastFailure: ActivationFailure | undefined;
  readonly #listeners = new Set<(event: ActivationEvent) => void>();
  #stopWatching: (() => Promise<void>) | undefined;
  // How long the running activation's load took, for the log (the rest is compiling).
  #loadMs: number | undefined;

  constructor(opts: ActivatorOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'activator' });
  }

  /** The last failed activation since the last success, if any. */
  get lastFailure(): ActivationFailure | undefined {
    return this.#lastFailure;
  }

  /** Subscribes to activation events; returns the unsubscribe function. */
  subscribe(listener: (event: ActivationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Activates once, then (if the source can) re-activates on every change the source reports.
   * Resolves to the first result; a failed first activation starts no watching.
   */
  async start(): Promise<ActivationResult> {
    const first = await this.activate();
    const { source } = this.#opts;
    if (first.ok && source.watch !== undefined && this.#stopWatching === undefined)
      this.#stopWatching = source.watch(() => void this.activate());
    return first;
  }

  /** Stops watching the source and waits for a running activation to finish. */
  async stop(): Promise<void> {
    const stop = this.#stopWatching;
    this.#stopWatching = undefined;
    await stop?.();
    await this.#queued?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
  }

  /** Runs an activation, or joins the one queued behind the running one. */
  activate(): Promise<ActivationResult> {
    if (this.#running === undefined) {
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.activate();
    });
    return this.#queued;
  }

  async #run(): Promise<ActivationResult> {
    const { source, holder, mode } = this.#opts;
    this.#loadMs = undefined;
    const started = performance.now();
    let result: ActivationResult;
    try {
      const bundle = await source.load();
      this.#loadMs = performance.now() - started;
      const serving = holder.current();
      // Same content and mode means the same snapshot: skip compiling (seconds for big bundles).
      if (serving !== undefined && revisionOf(bundle.hash, mode) === serving.revision)
        return this.#finish({ ok: true, snapshot: serving, isChanged: false, issues: serving.warnings }, started);
      // In slices: compiling 10,000 policies takes a few hundred milliseconds, which must not stall RPCs.
      const compiled = await runSliced(compile(bundle, { mode, guardrailEnv: this.#opts.guardrailEnv }));
      if (!compiled.ok) {
        const errors = compiled.issues.filter((i) => i.severity === 'error').length;
        const error = new PdpError('BUNDLE_INVALID', `bundle ${source.origin} has ${errors} error(s); not activated`, {
          issues: compiled.issues,
        });
        result = { ok: false, error, issues: compiled.issues };
      } else {
        const isChanged = compiled.snapshot.revision !== holder.current()?.revision;
        if (isChanged) holder.swap(compiled.snapshot);
        result = { ok: true, snapshot: holder.current() ?? compiled.snapshot, isChanged, issues: compiled.issues };
      }
    } catch (e) {
      const error = PdpError.from(e);
      result = { ok: false, error, issues: error.issues };
    }
    return this.#finish(result, started);
  }

  #finish(result: ActivationResult, started: number): ActivationResult {
    const durationMs = performance.now() - started;
    this.#record(result, durationMs);
    this.#opts.onResult?.(result, durationMs);
    this.#publish(result);
    return result;
  }

  #publish(result: ActivationResult): void {
    let event: ActivationEvent;
    if (result.ok) {
      if (!result.isChanged) return;
      event = { kind: 'activated', at: new Date(), snapshot: result.snapshot, issues: result.issues };
    } else {
      const failure = this.#lastFailure as ActivationFailure;
      event = { kind: 'failed', at: failure.at, failure, serving: this.#opts.holder.current() };
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        this.#log.error({ err: e }, 'activation listener failed');
      }
    }
  }

  #record(result: ActivationResult, durationMs: number): void {
    const origin = this.#opts.source.origin;
    if (result.ok) {
      this.#lastFailure = undefined;
      const s = result.snapshot;
      const loadMs = this.#loadMs === undefined ? undefined : Math.round(this.#loadMs);
      const fields = { revision: s.revision, origin, durationMs: Math.round(durationMs), loadMs, warnings: result.issues.length };
      if (result.isChanged) this.#log.info({ ...fields, policies: s.policies.size, attachments: s.attachments.size }, 'snapshot activated');
      else this.#log.debug(fields, 'bundle unchanged; snapshot kept');
      for (const issue of result.issues) this.#log.warn({ revision: s.revision, origin, issue }, issue.message);
      return;
    }
    this.#lastFailure = { at: new Date(), origin, message: result.error.message, issues: result.issues };
    const revision = this.#opts.holder.current()?.revision;
    this.#log.error(
      { revision, origin, err: result.error.cause ?? undefined, issues: result.issues },
      `activation failed: ${result.error.message}${revision ? `; revision ${revision} keeps serving` : ''}`,
    );
  }
}
