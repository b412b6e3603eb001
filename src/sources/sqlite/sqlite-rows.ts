import { PdpError } from '../../errors.js';
import type { Issue } from '../../model/issue.js';

/** A row as better-sqlite3 returns it: column name to value (string, number, bigint, Buffer or null). */
export type Row = Readonly<Record<string, unknown>>;

/** The rows the sqlite source reads, each table already in its served order. */
export interface DbRows {
  /** By policy_name, then version_number, then policy_id. */
  readonly policies: readonly Row[];
  /** By created_at, then attachment_id: the match order. */
  readonly attachments: readonly Row[];
  /** By guardrail_name. */
  readonly guardrails: readonly Row[];
}

const STATUSES = ['draft', 'published', 'production'];

/**
 * Turns the db's rows into the config sections compile/parse reads: `guardrails`, `policies`
 * (the production row of each name; the highest version_number if there are several),
 * `policy_attachments` (empty lists passed through: parse treats `[]` as unset) and
 * `policy_versions` (draft and published rows). JSON columns are parsed; every column holding
 * invalid JSON or a value of the wrong type is reported at once as PdpError BUNDLE_INVALID, each
 * issue naming the table, the row and the column (`file` is the db path).
 */
export function bundleDataFromRows(file: string, rows: DbRows): unknown {
  const r = new RowReader(file);
  const guardrails = rows.guardrails.map((row) => {
    const at = r.at('pdp_guardrails', 'guardrail_name', row);
    return { guardrail_name: r.text(at, row, 'guardrail_name'), litellm_params: r.json(at, row, 'litellm_params', 'object') };
  });

  const production = new Map<string, { version: number; policy: Record<string, unknown> }>();
  const versions: Record<string, unknown>[] = [];
  for (const row of rows.policies) {
    const at = r.at('LiteLLM_PolicyTable', 'policy_id', row);
    const name = r.text(at, row, 'policy_name');
    const version = r.integer(at, row, 'version_number');
    const status = r.status(at, row);
    const policy = {
      inherit: r.optionalText(at, row, 'inherit'),
      description: r.optionalText(at, row, 'description'),
      guardrails: { add: r.json(at, row, 'guardrails_add', 'strings'), remove: r.json(at, row, 'guardrails_remove', 'strings') },
      condition: r.json(at, row, 'condition', 'object?'),
      pipeline: r.json(at, row, 'pipeline', 'object?'),
    };
    if (status === 'production') {
      const seen = production.get(name);
      if (seen === undefined || version > seen.version) production.set(name, { version, policy });
    } else {
      versions.push({ policy_id: row.policy_id, policy_name: name, version_number: version, version_status: status, ...policy });
    }
  }
  const policies: Record<string, unknown> = {};
  // defineProperty: a policy may be called `__proto__`.
  for (const [name, { policy }] of production) {
    Object.defineProperty(policies, name, { value: policy, enumerable: true, writable: true, configurable: true });
  }

  const attachments = rows.attachments.map((row) => {
    const at = r.at('LiteLLM_PolicyAttachmentTable', 'attachment_id', row);
    return {
      policy: r.text(at, row, 'policy_name'),
      scope: r.optionalText(at, row, 'scope'),
      teams: r.json(at, row, 'teams', 'strings'),
      keys: r.json(at, row, 'keys', 'strings'),
      models: r.json(at, row, 'models', 'strings'),
      tags: r.json(at, row, 'tags', 'strings'),
    };
  });

  if (r.issues.length > 0) {
    const first = r.issues[0] as Issue;
    const more = r.issues.length > 1 ? ` (and ${r.issues.length - 1} more)` : '';
    throw new PdpError('BUNDLE_INVALID', `db ${file} has invalid rows: ${first.message}${more}`, { issues: r.issues });
  }
  return { guardrails, policies, policy_attachments: attachments, policy_versions: versions };
}

/** Which row: the table, its id column and the id, for issue paths and messages. */
interface RowAt {
  readonly table: string;
  readonly label: string;
}

type JsonShape = 'strings' | 'object' | 'object?';

const SHAPES: Readonly<Record<JsonShape, string>> = {
  strings: 'a JSON array of strings, e.g. ["pii_masking"] ([] for none)',
  object: 'a JSON object, e.g. {"guardrail": "presidio"}',
  'object?': 'a JSON object or NULL',
};

/** Reads typed values out of rows, collecting one issue per bad column. */
class RowReader {
  readonly issues: Issue[] = [];
  constructor(readonly file: string) {}

  at(table: string, idColumn: string, row: Row): RowAt {
    return { table, label: `${idColumn}=${String(row[idColumn])}` };
  }

  text(at: RowAt, row: Row, column: string): string {
    const v = row[column];
    if (typeof v === 'string') return v;
    this.bad(at, column, `${column} must be text, got ${describeSql(v)}`);
    return '';
  }

  optionalText(at: RowAt, row: Row, column: string): string | null {
    const v = row[column];
    if (v === null || typeof v === 'string') return v;
    this.bad(at, column, `${column} must be text or NULL, got ${describeSql(v)}`);
    return null;
  }

  integer(at: RowAt, row: Row, column: string): number {
    const v = row[column];
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    this.bad(at, column, `${column} must be an integer, got ${describeSql(v)}`);
    return 0;
  }

  status(at: RowAt, row: Row): string {
    const v = row.version_status;
    if (typeof v === 'string' && STATUSES.includes(v)) return v;
    this.bad(at, 'version_status', `version_status must be 'draft', 'published' or 'production', got ${describeSql(v)}`);
    return 'invalid';
  }

  json(at: RowAt, row: Row, column: string, shape: JsonShape): unknown {
    const raw = row[column];
    if (raw === null && shape !== 'object') return shape === 'strings' ? [] : null;
    if (typeof raw !== 'string') {
      this.bad(at, column, `${column} must be ${SHAPES[shape]}, got ${describeSql(raw)}`);
      return null;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      const hint = raw === '' ? ' (an empty string; store NULL for none)' : '';
      this.bad(at, column, `${column} is not valid JSON: ${(e as Error).message}${hint}; store ${SHAPES[shape]}`);
      return null;
    }
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    const ok =
      shape === 'strings'
        ? Array.isArray(value) && value.every((s) => typeof s === 'string')
        : isObject || (shape === 'object?' && value === null);
    if (ok) return value;
    this.bad(at, column, `${column} must be ${SHAPES[shape]}, got ${clip(raw)}`);
    return shape === 'strings' ? [] : null;
  }

  private bad(at: RowAt, column: string, cause: string): void {
    this.issues.push(
      Object.freeze({
        severity: 'error',
        rule: 'invalid_bundle',
        message: `${at.table} row ${at.label}: ${cause}`,
        file: this.file,
        line: 0,
        column: 0,
        path: `${at.table}[${at.label}].${column}`,
      }),
    );
  }
}

function describeSql(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return `the text ${truncate(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${v}`;
  return 'a blob';
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function truncate(s: string): string {
  return JSON.stringify(clip(s));
}
