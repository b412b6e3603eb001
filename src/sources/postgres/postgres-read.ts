import pg from 'pg';
import { PdpError } from '../../errors.js';
import type { Issue } from '../../model/issue.js';
import type { DbRows, Row } from '../sqlite/sqlite-rows.js';
import {
  activityQuery,
  ATTACHMENT_TABLE,
  columnsQuery,
  fingerprintQuery,
  GUARDRAILS_TABLE,
  guardrailsQuery,
  inventoryKeysQuery,
  inventoryTeamsQuery,
  keyPoliciesQuery,
  missingColumns,
  POLICY_TABLE,
  rowsQuery,
  SOURCE_TABLES,
  teamPoliciesQuery,
} from './litellm-tables.js';
import { parsePostgresUrl, type PostgresTarget } from './postgres-url.js';

/** Limits of one connection. */
export interface PostgresReadOptions {
  /** Connecting (TCP, TLS and authentication) may take this long. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** One query may take this long (client side; the read transaction also sets statement_timeout). Default 30 s. */
  readonly queryTimeoutMs?: number;
}

/** What one read of LiteLLM's tables gives. */
export interface PolicyTablesRead {
  /** The change check's value in the same snapshot as the rows (see fingerprintQuery). */
  readonly fingerprint: string;
  /** The rows as the SQLite db stores them; guardrails are the active rows only. */
  readonly rows: DbRows;
  /** Bytes received from the server for the whole read (the wire, protocol included). */
  readonly bytes: number;
}

/** A key's or team's `policies` column (LiteLLM's metadata.policies, sent as key_policies / team_policies). */
export interface PrincipalPolicies {
  readonly keys: readonly { readonly keyAlias: string | null; readonly teamId: string | null; readonly policies: readonly string[] }[];
  readonly teams: readonly { readonly teamId: string; readonly teamAlias: string | null; readonly policies: readonly string[] }[];
}

/** A key or team as an inventory needs it (`impact`): aliases (null: unnamed), tags, models, policies. */
export interface InventoryRow {
  readonly alias: string | null;
  readonly teamAlias: string | null;
  /** `metadata.tags` (a key's own and its team's), strings only. */
  readonly tags: readonly string[];
  /** A key's models, else its team's; a team's models. */
  readonly models: readonly string[];
  readonly policies: readonly string[];
  /** A key's team's policies (empty for teams). */
  readonly teamPolicies: readonly string[];
}

/** LiteLLM's keys and teams as an inventory. */
export interface InventoryRead {
  readonly keys: readonly InventoryRow[];
  readonly teams: readonly InventoryRow[];
}

/**
 * One connection to LiteLLM's database, for the change check, a full read, or the key and team
 * policies. Errors are PdpErrors whose messages name the database by its redacted URL and never
 * hold the password: SOURCE_UNAVAILABLE when the database cannot be reached or read (refused,
 * unknown host, authentication, permissions, a timeout), BUNDLE_INVALID when it is not LiteLLM's
 * (a missing table or column) or a row cannot be used (with one issue per bad column).
 */
export class LiteLLMDatabase {
  readonly target: PostgresTarget;
  readonly #client: pg.Client;
  readonly #queryTimeoutMs: number;
  #connected = false;

  private constructor(target: PostgresTarget, client: pg.Client, queryTimeoutMs: number) {
    this.target = target;
    this.#client = client;
    this.#queryTimeoutMs = queryTimeoutMs;
  }

  /** Connects; throws SOURCE_UNAVAILABLE (or INVALID_CONFIG for a URL that does not parse). */
  static async connect(url: string, options: PostgresReadOptions = {}): Promise<LiteLLMDatabase> {
    let target: PostgresTarget;
    try {
      target = parsePostgresUrl(url);
    } catch (e) {
      throw new PdpError('INVALID_CONFIG', (e as Error).message);
    }
    const queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
    // No server settings in the startup packet (statement_timeout, options): PgBouncer refuses them.
    const client = new pg.Client({
      connectionString: url,
      application_name: 'guardrail-pdp',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      query_timeout: queryTimeoutMs,
    });
    // A connection lost between queries emits 'error'; the next query reports it.
    client.on('error', () => undefined);
    const db = new LiteLLMDatabase(target, client, queryTimeoutMs);
    try {
      await client.connect();
      db.#connected = true;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw db.#fail(e, 'connect');
    }
    return db;
  }

  /** Bytes received on this connection so far (connecting included). */
  bytesReceived(): number {
    const stream = (this.#client as unknown as { connection?: { stream?: { bytesRead?: number } } }).connection?.stream;
    return stream?.bytesRead ?? 0;
  }

  /** The cheap step of the change check (see activityQuery): undefined when the server counts no statistics. */
  async activity(): Promise<string | undefined> {
    try {
      const result = await this.#client.query<{ counting: boolean; activity: string }>(activityQuery(this.target.schema));
      const row = result.rows[0];
      return row?.counting === true ? row.activity : undefined;
    } catch (e) {
      throw this.#fail(e, 'check');
    }
  }

  /** The change check: one query, one short row (see fingerprintQuery). */
  async fingerprint(): Promise<string> {
    try {
      const result = await this.#client.query<{ fingerprint: string }>(fingerprintQuery(this.target.schema));
      return result.rows[0]?.fingerprint ?? '';
    } catch (e) {
      throw this.#fail(e, 'check');
    }
  }

  /**
   * Reads the three tables in one read-only, repeatable-read transaction (one snapshot: the
   * fingerprint and every row agree) and returns the rows in no particular order (the db orders
   * them). Given the previous read, a table whose part of the fingerprint did not move since is
   * not read again: the same row versions are live, so its previous rows are the rows of this
   * snapshot too (an edited policy re-reads the policy table only, about half of the bytes).
   * The rows are not checked here: `bundleDataFromRows` (sources/sqlite/sqlite-rows.ts) reports
   * every bad column, named by table, row and column; the sync runs it before writing.
   */
  async readPolicyTables(previous?: PolicyTablesRead): Promise<PolicyTablesRead> {
    const start = this.bytesReceived();
    const schema = this.target.schema;
    const before = previous?.fingerprint.split('/');
    let fingerprint: string;
    let rows: DbRows;
    try {
      await this.#client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL TIME ZONE 'UTC'; SET LOCAL statement_timeout = ${Math.max(1, Math.round(this.#queryTimeoutMs))}`,
      );
      try {
        const columns = await this.#client.query<{ table_name: string; column_name: string }>(columnsQuery(schema));
        const present = new Map<string, Set<string>>(SOURCE_TABLES.map((t) => [t, new Set<string>()]));
        for (const r of columns.rows) present.get(r.table_name)?.add(r.column_name);
        this.#checkTables(present);
        fingerprint = (await this.#client.query<{ fingerprint: string }>(fingerprintQuery(schema))).rows[0]?.fingerprint ?? '';
        const now = fingerprint.split('/');
        const read = async (i: number, sql: () => string, kept: readonly Row[] | undefined): Promise<readonly Row[]> =>
          kept !== undefined && before?.[i] === now[i] ? kept : (await this.#client.query<Row>(sql())).rows;
        const columnsOf = (table: string): Set<string> => present.get(table) as Set<string>;
        rows = {
          policies: await read(0, () => rowsQuery(schema, POLICY_TABLE, columnsOf(POLICY_TABLE)), previous?.rows.policies),
          attachments: await read(1, () => rowsQuery(schema, ATTACHMENT_TABLE, columnsOf(ATTACHMENT_TABLE)), previous?.rows.attachments),
          guardrails: await read(2, () => guardrailsQuery(schema, columnsOf(GUARDRAILS_TABLE)), previous?.rows.guardrails),
        };
      } finally {
        await this.#client.query('COMMIT').catch(() => undefined);
      }
    } catch (e) {
      throw this.#fail(e, 'read');
    }
    return { fingerprint, rows, bytes: this.bytesReceived() - start };
  }

  /**
   * The `policies` columns of LiteLLM's keys and teams (only rows that have some), in one
   * read-only, repeatable-read transaction. Not part of the db (docs/postgres.md says why); for
   * commands that review policies against real keys and teams.
   */
  async readPrincipalPolicies(): Promise<PrincipalPolicies> {
    const schema = this.target.schema;
    try {
      await this.#client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      try {
        const keys = await this.#client.query<{ key_alias: string | null; team_id: string | null; policies: string }>(keyPoliciesQuery(schema));
        const teams = await this.#client.query<{ team_id: string; team_alias: string | null; policies: string }>(teamPoliciesQuery(schema));
        return {
          keys: keys.rows.map((r) => ({ keyAlias: r.key_alias, teamId: r.team_id, policies: stringList(r.policies) })),
          teams: teams.rows.map((r) => ({ teamId: r.team_id, teamAlias: r.team_alias, policies: stringList(r.policies) })),
        };
      } finally {
        await this.#client.query('COMMIT').catch(() => undefined);
      }
    } catch (e) {
      throw this.#fail(e, 'read');
    }
  }

  /**
   * Every key and team of LiteLLM's `LiteLLM_VerificationToken` and `LiteLLM_TeamTable` as an
   * inventory (see InventoryRow), in one read-only, repeatable-read transaction. Keys hold no
   * secret here: the token column is only an ORDER BY tiebreak and is never read.
   */
  async readInventory(): Promise<InventoryRead> {
    const schema = this.target.schema;
    type Raw = { key_alias?: string | null; team_alias: string | null; metadata: string | null; team_metadata?: string | null; models: string; team_models?: string; policies: string; team_policies?: string };
    try {
      await this.#client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      try {
        const keys = await this.#client.query<Raw>(inventoryKeysQuery(schema));
        const teams = await this.#client.query<Raw>(inventoryTeamsQuery(schema));
        return {
          keys: keys.rows.map((r) => {
            const own = stringList(r.models);
            return {
              alias: r.key_alias ?? null,
              teamAlias: r.team_alias,
              tags: [...new Set([...metadataTags(r.metadata), ...metadataTags(r.team_metadata ?? null)])],
              models: own.length > 0 ? own : stringList(r.team_models ?? '[]'),
              policies: stringList(r.policies),
              teamPolicies: stringList(r.team_policies ?? '[]'),
            };
          }),
          teams: teams.rows.map((r) => ({
            alias: r.team_alias,
            teamAlias: r.team_alias,
            tags: metadataTags(r.metadata),
            models: stringList(r.models),
            policies: stringList(r.policies),
            teamPolicies: [],
          })),
        };
      } finally {
        await this.#client.query('COMMIT').catch(() => undefined);
      }
    } catch (e) {
      throw this.#fail(e, 'read');
    }
  }

  async close(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    await this.#client.end().catch(() => undefined);
  }

  #checkTables(present: ReadonlyMap<string, ReadonlySet<string>>): void {
    const where = this.target.schema === undefined ? 'the connection\'s schema (search_path)' : `schema ${this.target.schema}`;
    const issues: Issue[] = [];
    for (const table of SOURCE_TABLES) {
      const columns = present.get(table) as ReadonlySet<string>;
      if (columns.size === 0) {
        issues.push(this.#issue(`not LiteLLM's database: no table ${table} in ${where}; ${HINT}`, table));
        continue;
      }
      const missing = missingColumns(table, columns);
      if (missing.length > 0) {
        const what = missing.length === 1 ? `column ${missing[0]}` : `columns ${missing.join(', ')}`;
        issues.push(this.#issue(`table ${table} has no ${what}; ${HINT}`, table));
      }
    }
    if (issues.length > 0) {
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
      throw new PdpError('BUNDLE_INVALID', `${this.target.redacted}: ${(issues[0] as Issue).message}${more}`, { issues });
    }
  }

  #issue(message: string, path: string): Issue {
    return Object.freeze({ severity: 'error', rule: 'invalid_bundle', message, file: this.target.redacted, line: 0, column: 0, path });
  }

  /** Maps what pg throws to a PdpError whose message is safe to log. */
  #fail(e: unknown, during: 'connect' | 'check' | 'read'): PdpError {
    if (e instanceof PdpError) return e;
    const where = this.target.redacted;
    const err = e as { code?: string; message?: string };
    const message = this.target.scrub(String(err.message ?? e));
    const code = typeof err.code === 'string' ? err.code : '';
    if (code === '42P01') {
      // undefined_table, from the change check (the full read checks the catalog first).
      const issue = this.#issue(`not LiteLLM's database: ${message}; ${HINT}`, '');
      return new PdpError('BUNDLE_INVALID', `${where}: ${issue.message}`, { issues: [issue] });
    }
    if (code === '42501') {
      return new PdpError('SOURCE_UNAVAILABLE', `cannot read ${where}: ${message}; grant the role SELECT on ${SOURCE_TABLES.join(', ')} (docs/postgres.md)`);
    }
    const verb = during === 'connect' ? 'cannot connect to' : during === 'check' ? 'change check failed on' : 'cannot read';
    const sqlstate = /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : code !== '' ? ` (${code})` : '';
    return new PdpError('SOURCE_UNAVAILABLE', `${verb} ${where}: ${message}${sqlstate}`);
  }
}

const HINT = "point it at LiteLLM's DATABASE_URL (with ?schema= if LiteLLM uses one) after LiteLLM's migrations ran";

/** `metadata.tags` of a metadata JSON text: its strings (LiteLLM's tags); nothing when absent or not a list. */
function metadataTags(json: string | null): string[] {
  if (json === null) return [];
  const value: unknown = JSON.parse(json);
  const tags = typeof value === 'object' && value !== null ? (value as { tags?: unknown }).tags : undefined;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

function stringList(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
