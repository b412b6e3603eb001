import { parseListenAddress } from '../server/listen-address.js';
import { createLogger } from '../logger.js';
import { AdminServer } from '../metrics/http.js';
import { createPostgresSyncMetrics } from '../metrics/postgres-sync.js';
import type { ValidationMode } from '../model/policy.js';
import { type CliIo, EXIT, usageError } from './io.js';
import type { CompileSettings } from './load.js';
import { PostgresSync, postgresUrl } from './postgres-sync.js';
import { countIssues, formatIssue } from './report.js';

/** The flags of `compile --from-postgres`, parsed by runCompile. */
export interface PostgresFlags {
  readonly output: string;
  readonly 'from-postgres': string;
  readonly bundle?: string;
  readonly config?: string;
  readonly watch?: string;
  readonly 'metrics-listen'?: string;
}

/**
 * `compile --from-postgres (URL | env:VAR) -o FILE.db [--config CONFIG.yaml] [--mode M]
 * [--watch SECONDS [--metrics-listen HOST:PORT]]` (docs/postgres.md): reads LiteLLM's policy,
 * attachment and active guardrail rows in one read-only transaction and writes them as a db, after
 * checking it compiles in the mode. `env:VAR` takes the URL from that variable, so the password
 * stays out of the command line. Once: exit 0 written, 1 invalid (nothing written), 2 database
 * unreachable or not LiteLLM's, or bad usage. With `--watch`: a change check every SECONDS
 * (jittered by +-25%), a full read only after a change, JSON log lines with counters (level from
 * PDP_LOG_LEVEL, default info), optional /metrics; runs until SIGTERM or SIGINT, then exits 0.
 */
export async function runCompileFromPostgres(
  values: PostgresFlags,
  positionals: string[],
  mode: ValidationMode,
  settings: CompileSettings,
  usage: string,
  problems: string[],
  io: CliIo,
): Promise<number> {
  if (positionals.length > 0 || values.bundle !== undefined) problems.push('--from-postgres takes no bundle file (LiteLLM\'s database is the policy source; --config adds a config\'s guardrails)');
  const url = postgresUrl(values['from-postgres'], io.env, '--from-postgres', problems);
  const watchSeconds = values.watch === undefined ? undefined : parseWatch(values.watch, problems);
  let metricsAddress: { host: string; port: number } | undefined;
  if (values['metrics-listen'] !== undefined) {
    if (watchSeconds === undefined) problems.push('--metrics-listen goes with --watch');
    try {
      const a = parseListenAddress(values['metrics-listen'], '--metrics-listen');
      if (a.kind === 'unix') problems.push('--metrics-listen: expected host:port');
      else metricsAddress = { host: a.host, port: a.port };
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  let sync: PostgresSync | undefined;
  if (url !== undefined) {
    try {
      sync = new PostgresSync({ url, output: values.output, mode, configFile: values.config, settings });
    } catch (e) {
      problems.push(`--from-postgres: ${(e as Error).message}`);
    }
  }
  if (problems.length > 0 || sync === undefined) return usageError(io, problems, usage);
  if (watchSeconds === undefined) {
    const o = await sync.round(true);
    for (const issue of o.issues) io.stdout.write(`${formatIssue(issue)}\n`);
    if (o.error !== undefined) {
      io.stderr.write(`${o.error}\n`);
      return o.exitCode;
    }
    const c = o.counts;
    io.stdout.write(
      `${values.output}: written from ${sync.redacted} (${c?.policies} policies, ${c?.versions} draft or published versions, ` +
        `${c?.attachments} attachments, ${c?.guardrails} guardrails; ${countIssues(o.issues)}; mode ${mode}; ` +
        `${o.bytes} bytes read); serve it with --db ${values.output}${mode === 'compat' ? ' --mode compat' : ''}\n`,
    );
    return EXIT.OK;
  }
  return watchPostgres(sync, watchSeconds, metricsAddress, io);
}

function parseWatch(raw: string, problems: string[]): number | undefined {
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0.1 && seconds <= 86_400) return seconds;
  problems.push(`--watch: '${raw}' is not a number of seconds from 0.1 to 86400`);
  return undefined;
}

/** The watch loop; see runCompileFromPostgres. */
async function watchPostgres(sync: PostgresSync, seconds: number, metricsAddress: { host: string; port: number } | undefined, io: CliIo): Promise<number> {
  const level = io.env.PDP_LOG_LEVEL;
  const known = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  const log = createLogger(level !== undefined && known.includes(level) ? (level as 'info') : 'info', io.stdout).child({
    component: 'postgres-sync',
    source: sync.redacted,
  });
  const metrics = createPostgresSyncMetrics();
  const admin =
    metricsAddress === undefined
      ? undefined
      : new AdminServer({ ...metricsAddress, registry: metrics.registry, isReady: () => sync.servedRevision() !== undefined, log });
  const stopped = new AbortController();
  const onSignal = (): void => stopped.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const counters = { checks: 0, scans: 0, changes: 0, written: 0, unchanged: 0, invalid: 0, failed: 0 };
  try {
    await admin?.start();
    sync.resume();
    log.info({ intervalSeconds: seconds, output: sync.output, resumedRevision: sync.servedRevision() }, 'watching LiteLLM\'s database');
    while (!stopped.signal.aborted) {
      const o = await sync.round();
      counters.checks++;
      metrics.observeCheck(o.check, o.scanned, o.bytes);
      if (o.scanned) counters.scans++;
      if (o.check === 'changed') counters.changes++;
      if (o.check === 'failed') counters.failed++;
      if (o.sync !== undefined) {
        metrics.observeSync(o.sync, o.bytes);
        counters[o.sync]++;
      }
      if (o.exitCode === 0) metrics.markCurrent(Date.now() / 1000);
      const fields = { check: o.check, scanned: o.scanned, sync: o.sync, bytes: o.bytes, durationMs: Math.round(o.durationMs), counters };
      if (o.sync === 'written') log.info({ ...fields, revision: o.revision, ...o.counts, warnings: o.issues.length }, 'db written');
      else if (o.sync === 'unchanged') log.info({ ...fields, revision: o.revision }, 'database changed, served content did not; db kept');
      else if (o.sync === 'invalid') {
        log.error({ ...fields, error: o.error, issues: o.issues.slice(0, 20).map(formatIssue) }, 'rows do not validate; keeping the last db');
      } else if (o.exitCode !== 0) log.warn({ ...fields, error: o.error }, 'sync failed; keeping the last db');
      else log.debug(fields, 'no change');
      // Jittered, so that pods started together do not poll in step.
      await sleep(seconds * 1000 * (0.75 + Math.random() * 0.5), stopped.signal);
    }
    log.info({ counters }, 'stopped');
    return EXIT.OK;
  } catch (e) {
    log.error({ error: (e as Error).message }, 'postgres sync stopped');
    return EXIT.UNREADABLE;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    await admin?.stop();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
