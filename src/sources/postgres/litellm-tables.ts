/**
 * LiteLLM's Postgres tables as this reader sees them (docs/postgres.md, docs/semantics.md §12):
 * which columns it needs, which newer columns it can do without, and the SQL that turns each row
 * into the row the SQLite db stores (sources/sqlite/sqlite-schema.ts): `TEXT[]` and `JSONB` as
 * JSON text, `TIMESTAMP(3)` as ISO 8601 in UTC, booleans as 0/1.
 *
 * Table and column names are LiteLLM's (its Prisma schema: `LiteLLM_PolicyTable`,
 * `LiteLLM_PolicyAttachmentTable`, `LiteLLM_GuardrailsTable`), quoted because they are mixed case.
 */

/** The three tables a db is built from. */
export const POLICY_TABLE = 'LiteLLM_PolicyTable';
export const ATTACHMENT_TABLE = 'LiteLLM_PolicyAttachmentTable';
export const GUARDRAILS_TABLE = 'LiteLLM_GuardrailsTable';
export const SOURCE_TABLES = Object.freeze([POLICY_TABLE, ATTACHMENT_TABLE, GUARDRAILS_TABLE]);

/** Key and team rows carry the policies a gateway sends as key_policies and team_policies. */
export const KEY_TABLE = 'LiteLLM_VerificationToken';
export const TEAM_TABLE = 'LiteLLM_TeamTable';

/** How one SQLite column is read from a Postgres column. */
type ColumnKind = 'text' | 'int' | 'bool' | 'array' | 'json' | 'time';

/** A column: its kind, and the SQL value to use when an older LiteLLM's table lacks it (required when absent). */
interface ColumnSpec {
  readonly kind: ColumnKind;
  readonly missing?: string;
}

/**
 * The columns of each table, in the SQLite table's order. Required columns are those of LiteLLM's
 * first policy migration; the others came later (tags, pipeline, versions) and fall back to what
 * LiteLLM itself assumes for a row without them: no tags, no pipeline, version 1 in production.
 */
export const COLUMNS: Readonly<Record<string, Readonly<Record<string, ColumnSpec>>>> = Object.freeze({
  [POLICY_TABLE]: {
    policy_id: { kind: 'text' },
    policy_name: { kind: 'text' },
    inherit: { kind: 'text' },
    description: { kind: 'text' },
    guardrails_add: { kind: 'array' },
    guardrails_remove: { kind: 'array' },
    condition: { kind: 'json' },
    pipeline: { kind: 'json', missing: 'NULL' },
    version_number: { kind: 'int', missing: '1' },
    version_status: { kind: 'text', missing: `'production'` },
    parent_version_id: { kind: 'text', missing: 'NULL' },
    is_latest: { kind: 'bool', missing: '1' },
    published_at: { kind: 'time', missing: 'NULL' },
    production_at: { kind: 'time', missing: 'NULL' },
    created_at: { kind: 'time' },
    created_by: { kind: 'text' },
    updated_at: { kind: 'time' },
    updated_by: { kind: 'text' },
  },
  [ATTACHMENT_TABLE]: {
    attachment_id: { kind: 'text' },
    policy_name: { kind: 'text' },
    scope: { kind: 'text' },
    teams: { kind: 'array' },
    keys: { kind: 'array' },
    models: { kind: 'array' },
    tags: { kind: 'array', missing: `'[]'` },
    created_at: { kind: 'time' },
    created_by: { kind: 'text' },
    updated_at: { kind: 'time' },
    updated_by: { kind: 'text' },
  },
  [GUARDRAILS_TABLE]: {
    guardrail_name: { kind: 'text' },
    litellm_params: { kind: 'json' },
    // Not stored: only rows whose status is 'active' are read (see guardrailsQuery).
    status: { kind: 'text', missing: `'active'` },
  },
});

/** `"schema"."table"`, or `"table"` (the connection's search_path) when no schema is given. */
export function qualified(schema: string | undefined, table: string): string {
  return schema === undefined ? quote(table) : `${quote(schema)}.${quote(table)}`;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** The SQL expression reading `column` as the SQLite db stores it, or its fallback when the table lacks it. */
function select(column: string, spec: ColumnSpec, present: ReadonlySet<string>): string {
  if (!present.has(column)) return `${spec.missing as string} AS ${quote(column)}`;
  const c = quote(column);
  switch (spec.kind) {
    case 'text':
    case 'int':
      return c;
    case 'bool':
      return `${c}::int AS ${c}`;
    case 'array':
      // A NULL array is stored as [] (LiteLLM reads it as none).
      return `COALESCE(array_to_json(${c})::text, '[]') AS ${c}`;
    case 'json':
      return `${c}::text AS ${c}`;
    case 'time':
      // Prisma's DateTime is TIMESTAMP(3) holding UTC; the transaction sets TIME ZONE 'UTC' for timestamptz.
      return `to_char(${c}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c}`;
  }
}

/** The columns of `table` the reader needs but the database lacks. */
export function missingColumns(table: string, present: ReadonlySet<string>): string[] {
  return Object.entries(COLUMNS[table] ?? {})
    .filter(([column, spec]) => spec.missing === undefined && !present.has(column))
    .map(([column]) => column);
}

/** SELECT every row of a policy or attachment table, as the SQLite table's columns. */
export function rowsQuery(schema: string | undefined, table: string, present: ReadonlySet<string>): string {
  const columns = Object.entries(COLUMNS[table] ?? {}).map(([column, spec]) => select(column, spec, present));
  return `SELECT ${columns.join(', ')} FROM ${qualified(schema, table)}`;
}

/**
 * SELECT the guardrails LiteLLM serves: rows whose status is 'active' (team-submitted guardrails
 * wait in 'pending_review'; rejected ones stay 'rejected'). Without a status column (an older
 * LiteLLM), every row.
 */
export function guardrailsQuery(schema: string | undefined, present: ReadonlySet<string>): string {
  const spec = COLUMNS[GUARDRAILS_TABLE] as Record<string, ColumnSpec>;
  const columns = ['guardrail_name', 'litellm_params'].map((c) => select(c, spec[c] as ColumnSpec, present));
  const where = present.has('status') ? ` WHERE "status" = 'active'` : '';
  return `SELECT ${columns.join(', ')} FROM ${qualified(schema, GUARDRAILS_TABLE)}${where}`;
}

/**
 * The cheap first step of the change check, answered from PostgreSQL's statistics without reading
 * a table: per table (in SOURCE_TABLES order, joined by `/`), the rows inserted, updated and deleted
 * since the statistics began, and whether they count the writes at all (`track_counts` on, and not a
 * standby, where replayed writes are not counted). Every
 * write to a table moves its number once the writing session reports its counters (within about a
 * second, when it goes idle); a rolled-back write moves it too, which only costs a fingerprint
 * query. The number says nothing about content, so an unchanged number is trusted only for a few
 * checks in a row, and a moved one is confirmed by fingerprintQuery (postgres-sync.ts).
 */
export function activityQuery(schema: string | undefined): { text: string; values: unknown[] } {
  return {
    text:
      "SELECT current_setting('track_counts') = 'on' AND NOT pg_is_in_recovery() AS counting, string_agg(COALESCE((pg_stat_get_tuples_inserted(r) + " +
      "pg_stat_get_tuples_updated(r) + pg_stat_get_tuples_deleted(r))::text, '-'), '/' ORDER BY i) AS activity " +
      'FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i), LATERAL to_regclass(t.name) AS r',
    values: [SOURCE_TABLES.map((table) => qualified(schema, table))],
  };
}

/**
 * The change check: per table (in SOURCE_TABLES order, joined by `/`), its row count and the sum of its rows' `xmin` (the id of the
 * transaction that wrote each row version). Any insert, update or delete, by LiteLLM's API or by
 * hand, either changes the count or adds a newer transaction id, so the sum moves; `updated_at`
 * would miss writes that do not set it and is written with the client's clock (LiteLLM sets it
 * in Python). LiteLLM's schema indexes neither, so this is one scan of each table: for 10,000
 * policies a few milliseconds of server time and one small row on the wire (docs/postgres.md),
 * which is why most checks ask activityQuery instead.
 * A false alarm (VACUUM FULL rewrites xmin) costs one full read that finds the same content.
 */
export function fingerprintQuery(schema: string | undefined): string {
  const part = (table: string): string =>
    `(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM ${qualified(schema, table)})`;
  return `SELECT ${SOURCE_TABLES.map(part).join(` || '/' || `)} AS fingerprint`;
}

/**
 * The columns of the source tables, in one query: table_name, column_name. From the catalog, not
 * information_schema (which hides tables the role may not read), so a missing grant is reported
 * as one, not as a missing table.
 */
export function columnsQuery(schema: string | undefined): { text: string; values: unknown[] } {
  return {
    text:
      'SELECT c.relname AS table_name, a.attname AS column_name FROM pg_catalog.pg_attribute a ' +
      'JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
      "WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = ANY($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') " +
      'AND a.attnum > 0 AND NOT a.attisdropped',
    values: [schema ?? null, [...SOURCE_TABLES]],
  };
}

/** Key and team rows with a non-empty `policies` column. */
export function keyPoliciesQuery(schema: string | undefined): string {
  return (
    `SELECT key_alias, team_id, array_to_json(policies)::text AS policies FROM ${qualified(schema, KEY_TABLE)} ` +
    'WHERE cardinality(policies) > 0 ORDER BY key_alias, token'
  );
}

export function teamPoliciesQuery(schema: string | undefined): string {
  return (
    `SELECT team_id, team_alias, array_to_json(policies)::text AS policies FROM ${qualified(schema, TEAM_TABLE)} ` +
    'WHERE cardinality(policies) > 0 ORDER BY team_alias, team_id'
  );
}

/**
 * Every key, for an inventory (`impact --inventory postgres:...`): its alias, its team's alias
 * and policies, the `tags` of its own and its team's `metadata`, its models (its team's when it
 * lists none, as LiteLLM lets such a key use the team's models) and its policies. JSON text columns.
 */
export function inventoryKeysQuery(schema: string | undefined): string {
  return (
    `SELECT k.key_alias, t.team_alias, k.metadata::text AS metadata, t.metadata::text AS team_metadata, ` +
    `COALESCE(array_to_json(k.models)::text, '[]') AS models, COALESCE(array_to_json(t.models)::text, '[]') AS team_models, ` +
    `COALESCE(array_to_json(k.policies)::text, '[]') AS policies, COALESCE(array_to_json(t.policies)::text, '[]') AS team_policies ` +
    `FROM ${qualified(schema, KEY_TABLE)} k LEFT JOIN ${qualified(schema, TEAM_TABLE)} t ON t.team_id = k.team_id ` +
    'ORDER BY k.key_alias, k.token'
  );
}

/** Every team, for an inventory: alias, `metadata` (for its tags), models and policies. */
export function inventoryTeamsQuery(schema: string | undefined): string {
  return (
    `SELECT team_alias, metadata::text AS metadata, COALESCE(array_to_json(models)::text, '[]') AS models, ` +
    `COALESCE(array_to_json(policies)::text, '[]') AS policies FROM ${qualified(schema, TEAM_TABLE)} ORDER BY team_alias, team_id`
  );
}
