import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { PdpError } from '../../errors.js';
import type { Issue } from '../../model/issue.js';
import { FORMAT_NAME, FORMAT_VERSION, REQUIRED_COLUMNS } from './sqlite-schema.js';
import { bundleDataFromRows, type DbRows, type Row } from './sqlite-rows.js';

/**
 * Reads a guardrail-pdp db: opens it read-only, checks it is ours, reads every table in one
 * transaction and closes it. Returns the Bundle data (see `bundleDataFromRows`) and its hash, the
 * sha256 of its canonical JSON. Synchronous (better-sqlite3): the sqlite source runs it on its
 * loader thread. Throws like the source's `load()`.
 */
export function readDbBundleData(path: string): { readonly data: unknown; readonly hash: string } {
  const data = bundleDataFromRows(path, readRows(path));
  return { data, hash: createHash('sha256').update(canonicalJson(data)).digest('hex') };
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

const ORDER: Readonly<Record<keyof DbRows, string>> = {
  policies: `SELECT * FROM "LiteLLM_PolicyTable" ORDER BY policy_name, version_number, policy_id`,
  // Postgres returns rows in no particular order; ours is deterministic (and the match order).
  attachments: `SELECT * FROM "LiteLLM_PolicyAttachmentTable" ORDER BY created_at, attachment_id`,
  guardrails: `SELECT * FROM pdp_guardrails ORDER BY guardrail_name`,
};

/** Opens the db read-only, checks it is ours, reads every table in one transaction, closes it. */
function readRows(path: string): DbRows {
  checkRegularFile(path);
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

/**
 * Refuses anything but a regular file, here on the loader thread just before SQLite opens it (the
 * source's own check ran before this thread started, and the path may have been replaced since).
 * SQLite would open a FIFO in blocking mode and wait for a writer forever, and a thread stuck in
 * that open keeps the process from exiting; so the file is opened non-blocking and checked first.
 */
function checkRegularFile(path: string): void {
  let fd: number | undefined;
  try {
    if (statSync(path).isFile()) {
      fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
      if (fstatSync(fd).isFile()) return;
    }
  } catch (e) {
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: ${(e as Error).message}; check the path and permissions`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  throw new PdpError('SOURCE_UNAVAILABLE', `cannot read db ${path}: not a regular file`);
}

const NOT_OURS = 'not a guardrail-pdp db';
const CREATE_HINT = 'create it with `guardrail-pdp compile` (from a bundle or --from-postgres)';

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

/**
 * The `pdp_meta` rows of a db, or undefined when it cannot be read (missing, locked, not a
 * guardrail-pdp db). For producers that keep their own keys there; synchronous and small.
 */
export function readDbMeta(path: string): ReadonlyMap<string, string> | undefined {
  let db: Database.Database | undefined;
  try {
    checkRegularFile(path);
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
    return new Map(db.prepare<[], [string, string]>('SELECT key, value FROM pdp_meta').raw().all());
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
