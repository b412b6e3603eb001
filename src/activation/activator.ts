import type { Logger } from 'pino';
import { compile, revisionOf } from '../compile/compile.js';
import { issueAt } from '../compile/issues.js';
import { runSliced } from '../steps.js';
import { PdpError } from '../errors.js';
import type { EnvLookup } from '../guardrails/env-references.js';
import type { GuardrailEnv } from '../guardrails/kind.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import type { PolicySource } from '../sources/source.js';
import type { SnapshotHolder } from './holder.js';

/** How long an attempt took: in all, and loading the source (the rest is compiling). */
interface Timing {
  readonly at: Date;
  readonly durationMs: number;
  /** Undefined when the load itself failed. */
  readonly loadMs: number | undefined;
}

/**
 * What one activation attempt did. Every attempt produces exactly one event, on one stream that
 * health, metrics and Watch subscribe to:
 * - `activated`: a new snapshot was swapped in;
 * - `unchanged`: the source gave the serving revision again, so nothing was compiled or swapped;
 * - `failed`: the source could not be read or the bundle has errors; the serving snapshot (if any)
 *   is untouched, and `issues` are every issue of the rejected input.
 */
export type ActivationEvent = Timing &
  (
    | { readonly kind: 'activated'; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
    | { readonly kind: 'unchanged'; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
    | {
        readonly kind: 'failed';
        readonly origin: string;
        readonly error: PdpError;
        /** The error's message, safe to show a client. */
        readonly message: string;
        readonly issues: readonly Issue[];
        readonly serving: Snapshot | undefined;
      }
  );

/** A failed attempt. */
export type ActivationFailure = Extract<ActivationEvent, { kind: 'failed' }>;

/** Where activation events come from: the Activator, or anything shaped like it. */
export interface ActivationEvents {
  /** Subscribes to activation events; returns the unsubscribe function. */
  subscribe(listener: (event: ActivationEvent) => void): () => void;
}

export interface ActivatorOptions {
  readonly source: PolicySource;
  readonly holder: SnapshotHolder;
  readonly mode: ValidationMode;
  /** Passed to compile: what guardrails use at run time (the app's HTTP pool, observers). */
  readonly guardrailEnv?: GuardrailEnv;
  /** Passed to compile: the sidecar's environment, for guardrails' `os.environ/NAME` values. */
  readonly lookupEnv?: EnvLookup;
  /** Passed to compile: guardrails the sidecar cannot execute are errors (`--require-executable`). */
  readonly requireExecutable?: boolean;
  /** Activates reloads that drop more than half of what is served (see `shrinkRefusal`), without the bundle's marker. */
  readonly allowShrink?: boolean;
  readonly log: Logger;
}

/**
 * Issues logged per activation: the first ones in full, then how many more. A bundle can carry
 * 100,000 issues, which in one line made a 28 MB log line; `guardrail-pdp validate` lists them all,
 * and the event itself still carries every one (Watch, lastFailure).
 */
const LOGGED_ISSUES = 20;

/** The shrink guard applies once the serving snapshot has at least this many policies and attachments together. */
export const SHRINK_GUARD_MIN = 10;

/**
 * The single writer: load, compile, swap. At most one activation runs at a time; triggers that
 * arrive meanwhile coalesce into one more run. A bundle with issues is never served, nor a reload
 * that would drop most of what is served (see `shrinkRefusal`): the previous snapshot keeps serving
 * and the failure is logged and published. Neither step blocks the event
 * loop for long: sources load on a loader thread, and compile runs in slices of a few milliseconds.
 */
export class Activator implements ActivationEvents {
  readonly #opts: ActivatorOptions;
  readonly #log: Logger;
  #running: Promise<ActivationEvent> | undefined;
  #queued: Promise<ActivationEvent> | undefined;
  #lastFailure: ActivationFailure | undefined;
  readonly #listeners = new Set<(event: ActivationEvent) => void>();
  #stopWatching: (() => Promise<void>) | undefined;
  #isStopped = false;

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
   * Resolves to the first attempt's event; a failed first activation starts no watching.
   */
  async start(): Promise<ActivationEvent> {
    const first = await this.activate();
    const { source } = this.#opts;
    // Not after stop(), which may have come during this first activation.
    if (first.kind !== 'failed' && source.watch !== undefined && this.#stopWatching === undefined && !this.#isStopped)
      this.#stopWatching = source.watch(() => void this.activate());
    return first;
  }

  /** Stops watching the source (or never starts, if the first activation is still running) and waits for a running activation to finish. */
  async stop(): Promise<void> {
    this.#isStopped = true;
    const stop = this.#stopWatching;
    this.#stopWatching = undefined;
    await stop?.();
    await this.#queued?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
  }

  /** Runs an activation, or joins the one queued behind the running one. Resolves to its event. */
  activate(): Promise<ActivationEvent> {
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

  async #run(): Promise<ActivationEvent> {
    const event = await this.#attempt();
    this.#lastFailure = event.kind === 'failed' ? event : undefined;
    this.#logEvent(event);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        this.#log.error({ err: e }, 'activation listener failed');
      }
    }
    return event;
  }

  /** Load, compile, swap: the event that says what happened, with its timing. Never throws. */
  async #attempt(): Promise<ActivationEvent> {
    const { source, holder, mode } = this.#opts;
    const started = performance.now();
    let loadMs: number | undefined;
    const timing = (): Timing => ({ at: new Date(), durationMs: performance.now() - started, loadMs });
    const failed = (error: PdpError): ActivationEvent => ({
      kind: 'failed',
      origin: source.origin,
      error,
      message: error.message,
      issues: error.issues,
      serving: holder.current(),
      ...timing(),
    });
    try {
      const bundle = await source.load();
      loadMs = performance.now() - started;
      const serving = holder.current();
      // Same content and mode means the same snapshot: skip compiling (seconds for big bundles).
      if (serving !== undefined && revisionOf(bundle.hash, mode) === serving.revision)
        return { kind: 'unchanged', snapshot: serving, issues: serving.warnings, ...timing() };
      // In slices: compiling 10,000 policies takes a few hundred milliseconds, which must not stall RPCs.
      const { guardrailEnv, lookupEnv, requireExecutable } = this.#opts;
      const compiled = await runSliced(compile(bundle, { mode, guardrailEnv, lookupEnv, requireExecutable }));
      if (!compiled.ok) {
        const errors = compiled.issues.filter((i) => i.severity === 'error').length;
        const message = `bundle ${source.origin} has ${errors} error(s); not activated`;
        return failed(new PdpError('BUNDLE_INVALID', message, { issues: compiled.issues }));
      }
      // Another activation cannot have swapped meanwhile (one runs at a time), so this compares with `serving`.
      if (compiled.snapshot.revision === serving?.revision)
        return { kind: 'unchanged', snapshot: serving, issues: compiled.issues, ...timing() };
      const refusal = this.#opts.allowShrink || compiled.allowsShrink ? undefined : shrinkRefusal(bundle, serving, compiled.snapshot);
      if (refusal !== undefined) return failed(refusal);
      holder.swap(compiled.snapshot);
      return { kind: 'activated', snapshot: compiled.snapshot, issues: compiled.issues, ...timing() };
    } catch (e) {
      return failed(PdpError.from(e));
    }
  }

  #logEvent(event: ActivationEvent): void {
    const origin = this.#opts.source.origin;
    const durationMs = Math.round(event.durationMs);
    const loadMs = event.loadMs === undefined ? undefined : Math.round(event.loadMs);
    const omitted = Math.max(0, event.issues.length - LOGGED_ISSUES);
    if (event.kind === 'failed') {
      const revision = event.serving?.revision;
      const issues = event.issues.slice(0, LOGGED_ISSUES);
      this.#log.error(
        { revision, origin, err: event.error.cause ?? undefined, issueCount: event.issues.length, issues, ...(omitted > 0 ? { issuesOmitted: omitted } : {}) },
        `activation failed: ${event.message}${revision ? `; revision ${revision} keeps serving` : ''}`,
      );
      return;
    }
    const s = event.snapshot;
    const fields = { revision: s.revision, origin, durationMs, loadMs, warnings: event.issues.length };
    if (event.kind === 'activated') this.#log.info({ ...fields, policies: s.policies.size, attachments: s.attachments.size }, 'snapshot activated');
    else this.#log.debug(fields, 'bundle unchanged; snapshot kept');
    for (const issue of event.issues.slice(0, LOGGED_ISSUES)) this.#log.warn({ revision: s.revision, origin, issue }, issue.message);
    if (omitted > 0) this.#log.warn({ revision: s.revision, origin, warningsOmitted: omitted }, `${omitted} more warnings not logged; guardrail-pdp validate lists them all`);
  }
}

/**
 * The guard against drastic shrinkage: a reload that would keep fewer than half of the policies
 * and attachments (counted together) of a serving snapshot that has at least SHRINK_GUARD_MIN is
 * refused, because that is what a file cut short, a truncated export or the wrong file looks like,
 * and activating it would silently drop the guardrails of most requests (fail open). The first
 * activation has nothing to compare with and is never refused. The bundle's marker
 * (`guardrail_pdp: {allow_shrink: true}`, parsed by compile) or serve's --allow-shrink let it through.
 */
function shrinkRefusal(bundle: Bundle, serving: Snapshot | undefined, next: Snapshot): PdpError | undefined {
  if (serving === undefined) return undefined;
  const before = serving.policies.size + serving.attachments.size;
  const after = next.policies.size + next.attachments.size;
  if (before < SHRINK_GUARD_MIN || 2 * after >= before) return undefined;
  const counts = (s: Snapshot): string => `${s.policies.size} policies and ${s.attachments.size} attachments`;
  const message =
    `bundle ${bundle.origin} would replace ${counts(serving)} with ${counts(next)}, dropping more than half, ` +
    'as a file cut short or the wrong file would; not activated. If this is intended, end the bundle with ' +
    '`guardrail_pdp: {allow_shrink: true}` for this reload, or serve with --allow-shrink';
  return new PdpError('BUNDLE_INVALID', message, { issues: [issueAt(bundle, 'error', 'drastic_shrink', message, ['policies'])] });
}
