import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import Database from 'better-sqlite3';
import { PdpError } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { PolicySource } from './source.js';
import { FORMAT_NAME, FORMAT_VERSION, REQUIRED_COLUMNS } from './sqlite-schema.js';
import { bundleDataFromRows, type DbRows, type Row } from './sqlite-rows.js';
import { watchForChanges } from './watch.js';

/** Options of `createSqliteDbSource`. */
export interface SqliteDbSourceOptions {
  /** The db file (see sqlite-schema.ts). Producers replace it atomically: write elsewhere, rename into place. */
  readonly path: string;
  /** Quiet period after a change in the directory before `watch` reports it. Default 250 ms. */
  readonly debounceMs?: number;
  /** Called when watching the directory fails (the source then may not see changes). */
  readonly onWatchError?: (err: Error) => void;
}

/**
 * A policy source reading a SQLite db of LiteLLM's policy tables. `load()` opens the file
 * read-only, reads every table in one transaction and closes it; the Bundle's `data` has the config
 * sections compile/parse reads plus `policy_versions` (draft and published rows), and its `hash`
 * is the sha256 of a canonical JSON of `data`, so the revision follows the content, not the bytes.
 * The db has no document: `locate` and `keysAt` answer undefined.
 *
 * Unreadable, missing or locked files throw SOURCE_UNAVAILABLE; corrupt files, files that are not
 * guardrail-pdp dbs (missing tables or columns, a newer format_version) and bad rows throw
 * BUNDLE_INVALID. better-sqlite3 is synchronous, so a load blocks the event loop while it reads.
 *
 * `watch` watches the file's directory and reports a change when the file was replaced (new inode)
 * or modified (size, mtime) since the last successful load, or cannot be stat'ed.
 */
export function createSqliteDbSource(options: SqliteDbSourceOptions): PolicySource {
  const { path } = options;
  // The file as it was just before the last successful load; undefined after a failure.
  let loaded: string | undefined;

  const load = async (): Promise<Bundle> => {
    loaded = undefined;
    // Stat first: a change after this point differs from `signature` and is reported again.
    const signature = signatureOf(await statFile(path));
    const data = bundleDataFromRows(path, readRows(path));
    const hash = createHash('sha256').update(canonicalJson(data)).digest('hex');
    loaded = signature;
    return Object.freeze({ origin: path, hash, data, locate: () => undefined, keysAt: () => undefined, duplicateKeys: Object.freeze([]) });
  };

  // A stat that fails rejects, and watchForChanges reports that as a change: load() says why.
  const isChanged = async (): Promise<boolean> => signatureOf(await stat(path)) !== loaded;

  return {
    origin: path,
    load,
    watch: (onChange) =>
      watchForChanges(path, { debounceMs: options.debounceMs, onError: options.onWatchError }, isChanged, onChange),
  };
}

/**
 * JSON with every object's keys sorted (code unit order) and no whitespace: equal values give
 * equal text whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) Object.defineProperty(sorted, k, { value: (v as Record<string, unknown>)[k], enumerable: true });
    return sorted;
  });
}

async function statFile(path: string): Promise<Stats> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch (e) {
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: ${(e as Error).message}; check the path and permissions`, { cause: e });
  }
  if (!s.isFile()) throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: not a regular file`);
  return s;
}

function signatureOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

const ORDER: Readonly<Record<keyof DbRows, string>> = {
  policies: `SELECT * FROM "LiteLLM_PolicyTable" ORDER BY policy_name, version_number, policy_id`,
  // Postgres returns rows in no particular order; ours is deterministic (and the match order).
  attachments: `SELECT * FROM "LiteLLM_PolicyAttachmentTable" ORDER BY created_at, attachment_id`,
  guardrails: `SELECT * FROM pdp_guardrails ORDER BY guardrail_name`,
};

/** Opens the db read-only, checks it is ours, reads every table in one transaction, closes it. */
function readRows(path: string): DbRows {
  let db: Database.Database | undefined;
  try {
    // timeout 0: never wait for a writer's lock, because waiting would block the event loop.
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    const conn = db;
    return conn.transaction(() => {
      checkSchema(conn, path);
      checkMeta(conn, path);
      const all = (sql: string): Row[] => conn.prepare<[], Row>(sql).all();
      return { policies: all(ORDER.policies), attachments: all(ORDER.attachments), guardrails: all(ORDER.guardrails) };
    })();
  } catch (e) {
    throw fromSqliteError(path, e);
  } finally {
    db?.close();
  }
}

const NOT_OURS = 'not a guardrail-pdp db';
const CREATE_HINT = 'create it with `guardrail-pdp compile` or the README recipe';

function checkSchema(db: Database.Database, path: string): void {
  const tables = new Set(db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`).pluck().all());
  const issues: Issue[] = [];
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    if (!tables.has(table)) {
      issues.push(dbIssue(path, `${NOT_OURS}: missing table ${table}; ${CREATE_HINT}`, table));
      continue;
    }
    const present = new Set(db.prepare<[string], string>('SELECT name FROM pragma_table_info(?)').pluck().all(table));
    const missing = columns.filter((c) => !present.has(c));
    if (missing.length > 0) {
      const what = missing.length === 1 ? `column ${missing[0]}` : `columns ${missing.join(', ')}`;
      issues.push(dbIssue(path, `${NOT_OURS}: table ${table} is missing ${what}; ${CREATE_HINT}`, table));
    }
  }
  if (issues.length > 0) throw invalid(path, issues);
}

function checkMeta(db: Database.Database, path: string): void {
  const meta = new Map(db.prepare<[], [unknown, unknown]>('SELECT key, value FROM pdp_meta').raw().all());
  const format = meta.get('format');
  if (format !== FORMAT_NAME) {
    const got = format === undefined ? 'has no format row' : `says format ${JSON.stringify(format)}`;
    throw invalid(path, [dbIssue(path, `${NOT_OURS}: pdp_meta ${got} (expected '${FORMAT_NAME}'); ${CREATE_HINT}`, 'pdp_meta')]);
  }
  const raw = meta.get('format_version');
  const version = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(version)) {
    const got = raw === undefined ? 'is missing' : `is ${JSON.stringify(raw)}, not a whole number`;
    throw invalid(path, [dbIssue(path, `pdp_meta format_version ${got}; ${CREATE_HINT}`, 'pdp_meta')]);
  }
  if (version > FORMAT_VERSION) {
    const message =
      `db format_version ${version} is newer than this guardrail-pdp reads (${FORMAT_VERSION}); ` +
      'upgrade guardrail-pdp, or write the db with the version that serves it';
    throw invalid(path, [dbIssue(path, message, 'pdp_meta')]);
  }
}

/** Maps what better-sqlite3 throws to the source's errors; PdpErrors pass through, bugs are rethrown. */
function fromSqliteError(path: string, e: unknown): unknown {
  if (e instanceof PdpError || !(e instanceof Database.SqliteError)) return e;
  const code = e.code;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    const message = `cannot read db ${path}: db is locked by a writer; producers should write elsewhere and rename into place`;
    return new PdpError('SOURCE_UNAVAILABLE', message, { cause: e });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    const message =
      `cannot read db ${path}: ${e.message} (${code}): the file is truncated, corrupt or not a SQLite db; ` +
      'producers should write elsewhere and rename into place';
    return invalid(path, [dbIssue(path, message, '')], e);
  }
  return new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: ${e.message} (${code}); check the path and permissions`, { cause: e });
}

function dbIssue(file: string, message: string, path: string): Issue {
  return Object.freeze({ severity: 'error', rule: 'invalid_bundle', message, file, line: 0, column: 0, path });
}

function invalid(path: string, issues: readonly Issue[], cause?: unknown): PdpError {
  const first = issues[0] as Issue;
  const message = first.message.startsWith('cannot read db') ? first.message : `db ${path}: ${first.message}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new PdpError('BUNDLE_INVALID', `${message}${more}`, { issues, cause });
}
