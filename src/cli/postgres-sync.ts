import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compile } from '../compile/compile.js';
import { PdpError } from '../errors.js';
import type { CheckResult, SyncResult } from '../metrics/postgres-sync.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import { createSource } from '../sources/create-source.js';
import { readReferencedFiles } from '../sources/referenced-files.js';
import { LiteLLMDatabase, type PolicyTablesRead, type PostgresReadOptions } from '../sources/postgres/postgres-read.js';
import { parsePostgresUrl } from '../sources/postgres/postgres-url.js';
import { readDbBundleData, readDbMeta } from '../sources/sqlite/sqlite-read.js';
import { bundleDataFromRows, type DbRows, type Row } from '../sources/sqlite/sqlite-rows.js';
import { writeSqliteRows } from '../sources/sqlite/sqlite-writer.js';
import { finish } from '../steps.js';
import type { CompileSettings } from './load.js';
import { countIssues } from './report.js';

/** What `compile --from-postgres` syncs: LiteLLM's database into one db file. */
export interface PostgresSyncConfig {
  /** LiteLLM's DATABASE_URL (never logged; `redacted` is). */
  readonly url: string;
  /** The db the sidecar serves; replaced atomically. */
  readonly output: string;
  readonly mode: ValidationMode;
  /** A LiteLLM config.yaml whose `guardrails:` section is added to the database's guardrails. */
  readonly configFile?: string;
  /** The compile flags the sidecars serving the db run with, so the check compiles as they will (cli/load.ts). */
  readonly settings?: CompileSettings;
  readonly connect?: PostgresReadOptions;
}

/** How one round ended. */
export interface SyncOutcome {
  /** The change check: unchanged (nothing read), changed (a full read followed), failed. */
  readonly check: CheckResult;
  /** Whether the check ran the content fingerprint query (a scan of the tables), or only asked the statistics. */
  readonly scanned: boolean;
  /** The full read, when there was one. */
  readonly sync?: SyncResult;
  /** Bytes received from Postgres in this round (connection setup, check and read). */
  readonly bytes: number;
  readonly durationMs: number;
  /** Why it failed or is invalid (safe to log: no password). */
  readonly error?: string;
  /** Every compile issue of the rows read (warnings too), when there was a full read. */
  readonly issues: readonly Issue[];
  /** What the db holds, after a full read that validated. */
  readonly counts?: { readonly policies: number; readonly attachments: number; readonly guardrails: number; readonly versions: number };
  /** The served revision of the db (after `written` or `unchanged` reads). */
  readonly revision?: string;
  /** Exit code for a one-shot run: 0 written or unchanged, 1 invalid, 2 failed. */
  readonly exitCode: 0 | 1 | 2;
}

/**
 * A database URL given on a command line: the URL itself, or `env:VAR` for the value of VAR (so the
 * password stays out of the command line); a problem naming `flag` when VAR is unset or empty.
 */
export function postgresUrl(value: string, env: Readonly<Record<string, string | undefined>>, flag: string, problems: string[]): string | undefined {
  if (!value.startsWith('env:')) return value;
  const name = value.slice('env:'.length);
  const url = env[name];
  if (url === undefined || url === '') {
    problems.push(`${flag} ${value}: the variable ${name} is not set`);
    return undefined;
  }
  return url;
}

/** The pdp_meta key holding the change check's value for the db's content. */
export const FINGERPRINT_META = 'postgres_fingerprint';

/**
 * Unchanged statistics are trusted for this many checks in a row; then the fingerprint is asked
 * anyway, so a write the statistics did not count (statistics reset, a replica, an extension
 * writing around them) is still found within this many intervals.
 */
export const CHECKS_PER_SCAN = 10;

/**
 * Keeps one db file in step with LiteLLM's Postgres tables. Each `round()` opens one connection and
 * runs the change check: the tables' write counters from PostgreSQL's statistics (activityQuery,
 * no table read), and only when they moved, or every CHECKS_PER_SCAN checks, the content
 * fingerprint (fingerprintQuery, one scan). Only when the fingerprint moved does it read the tables that
 * changed (all three after a start) in one repeatable-read transaction, writes them to a new db next to the output, checks that db
 * exactly as the sidecar will read and compile it, and renames it over the output if its content
 * differs from the served one. A round that fails or reads invalid rows leaves the output as it
 * was. The fingerprint of rows that were invalid is remembered too, so they are read again only
 * after the next change, not every interval.
 */
export class PostgresSync {
  readonly redacted: string;
  readonly #scrub: (message: string) => string;
  readonly #config: PostgresSyncConfig;
  /** The check's value for the content last read successfully (written, unchanged or invalid). */
  #fingerprint: string | undefined;
  /** The statistics' value when `#fingerprint` was taken (undefined: unknown, or not counted). */
  #activity: string | undefined;
  /** Checks answered from the statistics alone since the last fingerprint query. */
  #checksWithoutScan = 0;
  /** The content hash of the db at `output`, when it is known to be ours. */
  #servedHash: string | undefined;
  /** The last full read (its tables are reused while their part of the fingerprint stays). */
  #lastRead: PolicyTablesRead | undefined;

  constructor(config: PostgresSyncConfig) {
    this.#config = config;
    const target = parsePostgresUrl(config.url);
    this.redacted = target.redacted;
    this.#scrub = target.scrub;
  }

  /**
   * Picks up an existing output db (a restarted producer, or a seed init container's db): its
   * content hash, and the fingerprint it was written at, so the first round reads nothing if the
   * database did not change since.
   */
  resume(): void {
    const meta = readDbMeta(this.#config.output);
    if (meta === undefined) return;
    try {
      this.#servedHash = readDbBundleData(this.#config.output).hash;
      this.#fingerprint = meta.get(FINGERPRINT_META);
    } catch {
      this.#servedHash = undefined;
    }
  }

  /** One round; `force` skips the change check and always reads. Never throws for database or data problems. */
  async round(force = false): Promise<SyncOutcome> {
    const started = performance.now();
    let db: LiteLLMDatabase | undefined;
    let phase: 'connect' | 'check' | 'read' = 'connect';
    let check: CheckResult = 'changed';
    let scanned = false;
    const done = (o: Omit<SyncOutcome, 'check' | 'scanned' | 'bytes' | 'durationMs' | 'issues'> & { issues?: readonly Issue[] }): SyncOutcome => ({
      check,
      scanned,
      bytes: db?.bytesReceived() ?? 0,
      durationMs: performance.now() - started,
      issues: [],
      ...o,
    });
    try {
      // A db removed behind our back is written again, changed or not.
      if (this.#servedHash !== undefined && !existsSync(this.#config.output)) this.#servedHash = this.#fingerprint = this.#activity = undefined;
      db = await LiteLLMDatabase.connect(this.#config.url, this.#config.connect);
      const local = this.#localSignature();
      phase = 'check';
      // Taken before any read, so a write after it moves the statistics past this value.
      const counted = await db.activity();
      const activity = counted === undefined ? undefined : `${counted}${local}`;
      if (!force && this.#fingerprint !== undefined) {
        if (activity !== undefined && activity === this.#activity && this.#checksWithoutScan < CHECKS_PER_SCAN - 1) {
          this.#checksWithoutScan++;
          check = 'unchanged';
          return done({ exitCode: 0, revision: this.#servedHash });
        }
        scanned = true;
        this.#checksWithoutScan = 0;
        const fingerprint = `${await db.fingerprint()}${local}`;
        if (fingerprint === this.#fingerprint) {
          this.#activity = activity;
          check = 'unchanged';
          return done({ exitCode: 0, revision: this.#servedHash });
        }
      }
      phase = 'read';
      scanned = true;
      const read = await db.readPolicyTables(this.#lastRead);
      await db.close();
      this.#lastRead = read;
      const configGuardrails = await this.#loadConfigGuardrails();
      const outcome = await this.#writeIfValid(read.rows, configGuardrails, `${read.fingerprint}${local}`);
      // The statistics are trusted from the content they were taken before; after a failed write, the next check scans again.
      if (outcome.sync !== 'failed') {
        this.#activity = activity;
        this.#checksWithoutScan = 0;
      }
      return done(outcome);
    } catch (e) {
      // Reaching the database, or finding LiteLLM's tables in it, failed: exit 2, and the next round tries again.
      const message = e instanceof PdpError ? e.message : this.#scrub(`${phase} failed: ${(e as Error).message}`);
      const issues = e instanceof PdpError ? e.issues : [];
      if (phase !== 'read') check = 'failed';
      return done({ sync: phase === 'read' ? 'failed' : undefined, exitCode: 2, error: message, issues });
    } finally {
      await db?.close();
    }
  }

  /** The db file this sync writes. */
  get output(): string {
    return this.#config.output;
  }

  /** The served db's content hash (undefined before a db is known). */
  servedRevision(): string | undefined {
    return this.#servedHash;
  }

  /** The config file's part of the fingerprint: a change to the file is a change too. */
  #localSignature(): string {
    const file = this.#config.configFile;
    if (file === undefined) return '';
    try {
      const s = statSync(file);
      return `|config:${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      return '|config:missing';
    }
  }

  /** The `guardrails:` list of the config file (an unreadable or unparseable file throws, as `validate` reports it). */
  async #loadConfigGuardrails(): Promise<unknown[]> {
    const file = this.#config.configFile;
    if (file === undefined) return [];
    const bundle = await createSource({ kind: 'bundle', path: file }).load();
    const list = (bundle.data as { guardrails?: unknown } | null)?.guardrails ?? [];
    if (!Array.isArray(list)) throw new PdpError('SOURCE_UNAVAILABLE', `${file}: guardrails: must be a list of guardrails`);
    return list;
  }

  /** Adds the config file's guardrails to the database's; a name in both is an error (BUNDLE_INVALID). */
  #withConfigGuardrails(rows: DbRows, list: readonly unknown[]): DbRows {
    const file = this.#config.configFile as string;
    const names = new Set(rows.guardrails.map((g) => g.guardrail_name));
    const added: Row[] = [];
    list.forEach((g: unknown, i) => {
      const entry = (typeof g === 'object' && g !== null ? g : {}) as { guardrail_name?: unknown; litellm_params?: unknown };
      const name = entry.guardrail_name;
      if (typeof name !== 'string' || typeof entry.litellm_params !== 'object' || entry.litellm_params === null) {
        throw new PdpError('BUNDLE_INVALID', `${file}: guardrails[${i}] needs a guardrail_name and a litellm_params mapping`);
      }
      if (names.has(name)) {
        throw new PdpError('BUNDLE_INVALID', `guardrail ${name} is defined both in ${file} and in LiteLLM_GuardrailsTable; rename or remove one of them`);
      }
      names.add(name);
      added.push({ guardrail_name: name, litellm_params: JSON.stringify(entry.litellm_params) });
    });
    return added.length === 0 ? rows : { ...rows, guardrails: [...rows.guardrails, ...added] };
  }

  /**
   * Writes the rows as a db next to the output, reads it back and compiles it as the sidecar
   * will, and renames it into place unless it is invalid or its content is the served content.
   */
  async #writeIfValid(rows: DbRows, configGuardrails: readonly unknown[], fingerprint: string): Promise<Omit<SyncOutcome, 'check' | 'scanned' | 'bytes' | 'durationMs'>> {
    const { output, mode, settings } = this.#config;
    const pending = join(dirname(output), `.${basename(output)}.${process.pid}-${randomBytes(4).toString('hex')}.pending`);
    // Rows that cannot be served are remembered by their fingerprint, so they are read again only after a change.
    const invalid = (error: string, issues: readonly Issue[]): Omit<SyncOutcome, 'check' | 'scanned' | 'bytes' | 'durationMs'> => {
      this.#fingerprint = fingerprint;
      return { sync: 'invalid', exitCode: 1, error, issues };
    };
    try {
      // Every bad column at once, named by table, row and column, before SQLite sees the rows.
      bundleDataFromRows(this.redacted, rows);
      const withConfig = this.#withConfigGuardrails(rows, configGuardrails);
      writeSqliteRows(pending, withConfig, {
        revision: `postgres-${fingerprintLabel(fingerprint)}`,
        meta: { [FINGERPRINT_META]: fingerprint, source: 'postgres' },
      });
      // The db as the sidecar will read it, compiled as it will compile it.
      const { data, hash } = readDbBundleData(pending);
      // The files its guardrails name, read beside the output as the sidecar will read them.
      const files = await readReferencedFiles(data, { baseDir: dirname(output), categoriesDir: settings?.contentFilterCategoriesDir });
      const bundle: Bundle = { origin: this.redacted, hash, data, files, locate: () => undefined, keysAt: () => undefined, duplicateKeys: [] };
      const extras = settings === undefined ? {} : { lookupEnv: settings.lookupEnv, requireExecutable: settings.requireExecutable };
      const result = finish(compile(bundle, { mode, ...extras }));
      if (!result.ok) return invalid(`${this.redacted}: invalid (${countIssues(result.issues)}; mode ${mode}); ${output} not replaced`, result.issues);
      const s = result.snapshot;
      const counts = { policies: s.policies.size, attachments: s.attachments.size, guardrails: s.guardrails.size, versions: versionsOf(data) };
      this.#fingerprint = fingerprint;
      if (hash === this.#servedHash) return { sync: 'unchanged', exitCode: 0, issues: result.issues, counts, revision: hash };
      renameSync(pending, output);
      this.#servedHash = hash;
      return { sync: 'written', exitCode: 0, issues: result.issues, counts, revision: hash };
    } catch (e) {
      if (e instanceof PdpError && e.code === 'BUNDLE_INVALID') return invalid(`${e.message}; ${output} not replaced`, e.issues);
      return { sync: 'failed', exitCode: 2, error: this.#scrub(`cannot write db ${output}: ${(e as Error).message}`), issues: [] };
    } finally {
      rmSync(pending, { force: true });
    }
  }
}

function versionsOf(data: unknown): number {
  const v = (data as { policy_versions?: unknown[] }).policy_versions;
  return Array.isArray(v) ? v.length : 0;
}

/** A short, stable label for a fingerprint (pdp_meta.revision is only a label). */
function fingerprintLabel(fingerprint: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < fingerprint.length; i++) h = Math.imul(h ^ fingerprint.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
