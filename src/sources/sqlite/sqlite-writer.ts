import { createHash, randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { ParsedBundle } from '../../compile/parse/parse.js';
import type { AttachmentSpec, PipelineSpec, PolicySpec } from '../../model/policy.js';
import { ATTACHMENT_TABLE_COLUMNS, FORMAT_NAME, FORMAT_VERSION, POLICY_TABLE_COLUMNS, SCHEMA_SQL } from './sqlite-schema.js';
import type { DbRows, Row } from './sqlite-rows.js';

/** Options of `writeSqliteDb`. */
export interface WriteSqliteDbOptions {
  /** `pdp_meta.revision`: the producer's label for this content (`compile` uses the bundle's sha256). */
  readonly revision: string;
  /** `created_at` of the db and of every row. Default: now. */
  readonly now?: Date;
}

/**
 * Writes a parsed bundle as a guardrail-pdp SQLite db at `path`: the schema, one production row
 * per policy (its `policy_id` derived from its name, so writing the same bundle twice gives the
 * same rows; version 1, or one more than the policy's highest draft or published version), a row
 * per draft or published version (its own id and number), one attachment row per attachment (ids `att-000001`, ... in bundle order,
 * all with the same `created_at`, so the served order is the bundle's), the guardrails and the
 * meta rows. It writes a temp file in the same directory and renames it over `path`, so a reader
 * sees the old db or the new one, never half of one. Synchronous (better-sqlite3).
 */
export function writeSqliteDb(path: string, parsed: ParsedBundle, options: WriteSqliteDbOptions): void {
  const at = (options.now ?? new Date()).toISOString();
  writeAtomically(path, (conn) => {
    const policy = conn.prepare(
      `INSERT INTO "LiteLLM_PolicyTable" (policy_id, policy_name, inherit, description, guardrails_add, guardrails_remove, condition,
         pipeline, version_number, version_status, is_latest, published_at, production_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Draft and published versions keep their ids and numbers; the production row comes after them.
    const latest = new Map<string, number>();
    for (const v of parsed.versions) latest.set(v.spec.name, Math.max(v.versionNumber, latest.get(v.spec.name) ?? 0));
    for (const p of parsed.policies) {
      const version = (latest.get(p.name) ?? 0) + 1;
      policy.run(...policyRow(policyIdOf(p.name), p), version, 'production', 1, null, at, at, at);
    }
    for (const v of parsed.versions) {
      const isLatest = !parsed.policies.some((p) => p.name === v.spec.name) && latest.get(v.spec.name) === v.versionNumber;
      const publishedAt = v.status === 'published' ? at : null;
      policy.run(...policyRow(v.id, v.spec), v.versionNumber, v.status, isLatest ? 1 : 0, publishedAt, null, at, at);
    }
    const attachment = conn.prepare(
      `INSERT INTO "LiteLLM_PolicyAttachmentTable" (attachment_id, policy_name, scope, teams, keys, models, tags, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Ids of one width, so that text order is bundle order however many there are.
    const width = Math.max(6, String(parsed.attachments.length).length);
    parsed.attachments.forEach((a, i) => attachment.run(...attachmentRow(a, `att-${String(i + 1).padStart(width, '0')}`), at, at));
    const guardrail = conn.prepare('INSERT INTO pdp_guardrails (guardrail_name, litellm_params) VALUES (?, ?)');
    for (const g of parsed.guardrails) guardrail.run(g.name, JSON.stringify(g.params));
    insertMeta(conn, { revision: options.revision, created_at: at });
  });
}

/** Options of `writeSqliteRows`. */
export interface WriteSqliteRowsOptions {
  /** `pdp_meta.revision`: the producer's label for this content. */
  readonly revision: string;
  /** `pdp_meta.created_at`. Default: now. */
  readonly now?: Date;
  /** More `pdp_meta` rows (readers ignore keys they do not know). */
  readonly meta?: Readonly<Record<string, string>>;
}

/**
 * Writes table rows as they are (a producer's copy of LiteLLM's tables, e.g. from
 * sources/postgres/): each policy and attachment row's keys must be columns of its table
 * (POLICY_TABLE_COLUMNS, ATTACHMENT_TABLE_COLUMNS; a missing one takes the column's default), each
 * guardrail row has `guardrail_name` and `litellm_params` (JSON text). Values are SQLite values:
 * text (JSON text for arrays and JSON), integers (0/1 for booleans) or NULL. Written like
 * `writeSqliteDb`: a temp file in the same directory renamed over `path`. Throws on an unknown
 * column or a row the schema refuses (a duplicate id, an unknown version_status).
 */
export function writeSqliteRows(path: string, rows: DbRows, options: WriteSqliteRowsOptions): void {
  const at = (options.now ?? new Date()).toISOString();
  writeAtomically(path, (conn) => {
    insertRows(conn, 'LiteLLM_PolicyTable', POLICY_TABLE_COLUMNS, rows.policies);
    insertRows(conn, 'LiteLLM_PolicyAttachmentTable', ATTACHMENT_TABLE_COLUMNS, rows.attachments);
    insertRows(conn, 'pdp_guardrails', ['guardrail_name', 'litellm_params'], rows.guardrails);
    insertMeta(conn, { ...options.meta, revision: options.revision, created_at: at });
  });
}

function insertRows(conn: Database.Database, table: string, columns: readonly string[], rows: readonly Row[]): void {
  const statements = new Map<string, Database.Statement>();
  for (const row of rows) {
    const keys = Object.keys(row);
    const unknown = keys.filter((k) => !columns.includes(k));
    if (unknown.length > 0) throw new Error(`${table} has no column ${unknown.join(', ')}`);
    const sql = `INSERT INTO "${table}" (${keys.join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`;
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = conn.prepare(sql)));
    statement.run(...keys.map((k) => row[k]));
  }
}

function insertMeta(conn: Database.Database, rows: Readonly<Record<string, string>>): void {
  const meta = conn.prepare('INSERT INTO pdp_meta (key, value) VALUES (?, ?)');
  meta.run('format', FORMAT_NAME);
  meta.run('format_version', String(FORMAT_VERSION));
  for (const [key, value] of Object.entries(rows)) if (key !== 'format' && key !== 'format_version') meta.run(key, value);
}

/**
 * Creates the schema in a temp file next to `path`, runs `fill` in one transaction, closes the file
 * and renames it over `path`, so a reader sees the old db or the new one, never half of one. The
 * temp file is removed on any error.
 */
function writeAtomically(path: string, fill: (conn: Database.Database) => void): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let db: Database.Database | undefined;
  try {
    db = new Database(temp);
    const conn = db;
    conn.exec(SCHEMA_SQL);
    conn.transaction(() => fill(conn))();
    db.close();
    db = undefined;
    renameSync(temp, path);
  } catch (e) {
    db?.close();
    rmSync(temp, { force: true });
    throw e;
  }
}

/** The `policy_id` `writeSqliteDb` gives a policy: a name-based UUID (version 5), stable across runs. */
export function policyIdOf(name: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The RFC 4122 namespace of guardrail-pdp policy names (a fixed random UUID).
const NAMESPACE = Buffer.from('6f1c2a8e4b7d4e0f9a3c5d2b1e8f7a60', 'hex');

type PolicyRow = [string, string, string | null, string | null, string, string, string, string | null];

function policyRow(id: string, p: PolicySpec): PolicyRow {
  return [
    id,
    p.name,
    p.inherit ?? null,
    p.description ?? null,
    JSON.stringify(p.add),
    JSON.stringify(p.remove),
    JSON.stringify(p.condition === undefined ? {} : { model: p.condition.model }),
    p.pipeline === undefined ? null : JSON.stringify(pipelineJson(p.pipeline)),
  ];
}

/** The pipeline as LiteLLM stores it (config keys), which parses back to the same spec. */
function pipelineJson(pipeline: PipelineSpec): unknown {
  return {
    mode: pipeline.mode,
    steps: pipeline.steps.map((s) => ({
      guardrail: s.guardrail,
      on_pass: s.onPass,
      on_fail: s.onFail,
      ...(s.onError === undefined ? {} : { on_error: s.onError }),
      pass_data: s.passData,
      ...(s.modifyResponseMessage === undefined ? {} : { modify_response_message: s.modifyResponseMessage }),
      ...(s.timeoutMs === undefined ? {} : { timeout_ms: s.timeoutMs }),
    })),
  };
}

function attachmentRow(a: AttachmentSpec, id: string): [string, string, string | null, string, string, string, string] {
  const list = (v: readonly string[] | undefined): string => JSON.stringify(v ?? []);
  return [
    id,
    a.policy,
    a.isGlobal ? '*' : null,
    list(a.teams),
    list(a.keys),
    list(a.models),
    list(a.tags),
  ];
}
