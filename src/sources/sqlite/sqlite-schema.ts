/**
 * The tables of a guardrail-pdp SQLite db (docs/sqlite-db.md, docs/semantics.md §12).
 *
 * `LiteLLM_PolicyTable` and `LiteLLM_PolicyAttachmentTable` keep LiteLLM's table and column names,
 * so rows read from LiteLLM's Postgres database (sources/postgres/) are stored as they are. Postgres types map to SQLite
 * as: `TEXT[]` and `JSONB` -> JSON text (`'[]'`, `'{}'`), `TIMESTAMP(3)` -> ISO 8601 text
 * (`2026-01-23T13:14:07.123Z`, UTC, so text order is time order), `BOOL` -> 0/1.
 * `pdp_guardrails` holds the `guardrails:` section of a LiteLLM config (`litellm_params` as JSON)
 * and `pdp_meta` says what the file is.
 */

/** The db format this build reads and writes (`pdp_meta.format_version`). Readers reject newer ones. */
export const FORMAT_VERSION = 1;

/** The value of `pdp_meta.format` in every guardrail-pdp db. */
export const FORMAT_NAME = 'guardrail-pdp';

/** The tables and the columns the sqlite source reads; anything else in the db is ignored. */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  LiteLLM_PolicyTable: Object.freeze([
    'policy_id',
    'policy_name',
    'inherit',
    'description',
    'guardrails_add',
    'guardrails_remove',
    'condition',
    'pipeline',
    'version_number',
    'version_status',
  ]),
  LiteLLM_PolicyAttachmentTable: Object.freeze(['attachment_id', 'policy_name', 'scope', 'teams', 'keys', 'models', 'tags', 'created_at']),
  pdp_guardrails: Object.freeze(['guardrail_name', 'litellm_params']),
  pdp_meta: Object.freeze(['key', 'value']),
});

/** Every column of `LiteLLM_PolicyTable`, in the table's order (LiteLLM's column names). */
export const POLICY_TABLE_COLUMNS = Object.freeze([
  'policy_id',
  'policy_name',
  'inherit',
  'description',
  'guardrails_add',
  'guardrails_remove',
  'condition',
  'pipeline',
  'version_number',
  'version_status',
  'parent_version_id',
  'is_latest',
  'published_at',
  'production_at',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
] as const);

/** Every column of `LiteLLM_PolicyAttachmentTable`, in the table's order (LiteLLM's column names). */
export const ATTACHMENT_TABLE_COLUMNS = Object.freeze([
  'attachment_id',
  'policy_name',
  'scope',
  'teams',
  'keys',
  'models',
  'tags',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
] as const);

const NOW = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * Creates every table (a no-op for tables that exist). Run it on an empty db; `guardrail-pdp
 * compile` does (from a bundle or from LiteLLM's Postgres). The column order is
 * POLICY_TABLE_COLUMNS and ATTACHMENT_TABLE_COLUMNS.
 */
export const SCHEMA_SQL = `
-- One row per policy version (LiteLLM_PolicyTable). The live policy of a name is its 'production'
-- row; 'draft' and 'published' rows are served only to requests naming policy_<policy_id>.
CREATE TABLE IF NOT EXISTS "LiteLLM_PolicyTable" (
  policy_id          TEXT PRIMARY KEY NOT NULL,
  policy_name        TEXT NOT NULL,
  inherit            TEXT,
  description        TEXT,
  guardrails_add     TEXT NOT NULL DEFAULT '[]',   -- JSON array of guardrail names
  guardrails_remove  TEXT NOT NULL DEFAULT '[]',   -- JSON array of guardrail names
  condition          TEXT DEFAULT '{}',            -- JSON object: {"model": ...}; {} means none
  pipeline           TEXT,                         -- JSON object {mode, steps} or NULL
  version_number     INTEGER NOT NULL DEFAULT 1,
  version_status     TEXT NOT NULL DEFAULT 'production'
                     CHECK (version_status IN ('draft', 'published', 'production')),
  parent_version_id  TEXT,
  is_latest          INTEGER NOT NULL DEFAULT 1,   -- 0 or 1
  published_at       TEXT,                         -- ISO 8601
  production_at      TEXT,                         -- ISO 8601
  created_at         TEXT NOT NULL DEFAULT ${NOW},
  created_by         TEXT,
  updated_at         TEXT NOT NULL DEFAULT ${NOW},
  updated_by         TEXT,
  UNIQUE (policy_name, version_number)
);
CREATE INDEX IF NOT EXISTS "LiteLLM_PolicyTable_policy_name_version_status_idx"
  ON "LiteLLM_PolicyTable" (policy_name, version_status);

-- Which requests a policy applies to (LiteLLM_PolicyAttachmentTable). Served in created_at, then
-- attachment_id order: that is the match order. An empty list means "not set".
CREATE TABLE IF NOT EXISTS "LiteLLM_PolicyAttachmentTable" (
  attachment_id  TEXT PRIMARY KEY NOT NULL,
  policy_name    TEXT NOT NULL,
  scope          TEXT,                             -- '*' makes the attachment global
  teams          TEXT NOT NULL DEFAULT '[]',       -- JSON array of patterns
  keys           TEXT NOT NULL DEFAULT '[]',       -- JSON array of patterns
  models         TEXT NOT NULL DEFAULT '[]',       -- JSON array of patterns
  tags           TEXT NOT NULL DEFAULT '[]',       -- JSON array of patterns
  created_at     TEXT NOT NULL DEFAULT ${NOW},
  created_by     TEXT,
  updated_at     TEXT NOT NULL DEFAULT ${NOW},
  updated_by     TEXT
);

-- The guardrails: section of a LiteLLM config (and the active rows of LiteLLM_GuardrailsTable).
CREATE TABLE IF NOT EXISTS pdp_guardrails (
  guardrail_name  TEXT PRIMARY KEY NOT NULL,
  litellm_params  TEXT NOT NULL                    -- JSON object, e.g. {"guardrail": "presidio", "mode": "pre_call"}
);

-- What this file is: format = 'guardrail-pdp', format_version, revision (the producer's label for
-- this content; the served revision is derived from the content itself), created_at (ISO 8601).
-- Producers may add their own keys (compile --from-postgres adds postgres_fingerprint); readers ignore them.
CREATE TABLE IF NOT EXISTS pdp_meta (
  key    TEXT PRIMARY KEY NOT NULL,
  value  TEXT NOT NULL
);
`;
