/**
 * An inventory of real keys and teams, for `impact` (docs/policy-review.md#inventories): one
 * record per key or team, as JSON lines or CSV. Pure: the caller reads the file (bounded, streamed)
 * and hands over lines with their numbers; errors name `file:line`.
 */

/** A key or a team. Lists are empty when not given. */
export interface Principal {
  readonly kind: 'key' | 'team';
  /** A key's alias; undefined for an unnamed key (counted, never listed) and for teams. */
  readonly keyAlias: string | undefined;
  readonly teamAlias: string | undefined;
  readonly tags: readonly string[];
  /** The models a key or team may use; empty: resolved once with no model. */
  readonly models: readonly string[];
  /** The key's (kind key) or the team's (kind team) `policies`: sent as key_policies / team_policies. */
  readonly policies: readonly string[];
  /** For a key: its team's `policies` (team_policies). */
  readonly teamPolicies: readonly string[];
}

/** A bad record: the message starts with `file:line: `. */
export class InventoryError extends Error {
  override readonly name = 'InventoryError';
}

const FIELDS = ['kind', 'key_alias', 'team_alias', 'tags', 'models', 'policies', 'team_policies'] as const;
type Field = (typeof FIELDS)[number];

/** Reads one JSON line: `{"kind"?, "key_alias", "team_alias", "tags", "models", "policies", "team_policies"}`; other fields are ignored. */
export function principalFromJson(line: string, where: string): Principal {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new InventoryError(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  return principalFromValue(value, where);
}

/** `principalFromJson` for a line already parsed. */
export function principalFromValue(value: unknown, where: string): Principal {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InventoryError(`${where}: expected a JSON object for a key or team`);
  const record = value as Record<string, unknown>;
  const get = (f: Field): unknown => (Object.hasOwn(record, f) ? record[f] : undefined);
  return build(
    {
      kind: optionalString(get('kind'), 'kind', where),
      key_alias: optionalString(get('key_alias'), 'key_alias', where),
      team_alias: optionalString(get('team_alias'), 'team_alias', where),
      tags: stringList(get('tags'), 'tags', where),
      models: stringList(get('models'), 'models', where),
      policies: stringList(get('policies'), 'policies', where),
      team_policies: stringList(get('team_policies'), 'team_policies', where),
    },
    where,
  );
}

/** Columns a CSV inventory must have. */
export const CSV_REQUIRED = Object.freeze(['key_alias', 'team_alias'] as const);

/**
 * A CSV inventory: the header names the columns (any order; `key_alias` and `team_alias` are
 * required, `kind`, `tags`, `models`, `policies`, `team_policies` optional, others ignored). List
 * cells hold names separated by `;` (or a JSON array); an empty cell is none; an empty alias is unset.
 */
export class CsvInventory {
  readonly #columns: ReadonlyMap<Field, number>;
  readonly #width: number;

  constructor(header: string, where: string) {
    const names = parseCsvRecord(header, where).map((h) => h.trim().replace(/^\uFEFF/, ''));
    const missing = CSV_REQUIRED.filter((c) => !names.includes(c));
    if (missing.length > 0) {
      throw new InventoryError(`${where}: the CSV header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header: ${names.join(',')})`);
    }
    const columns = new Map<Field, number>();
    for (const f of FIELDS) if (names.includes(f)) columns.set(f, names.indexOf(f));
    this.#columns = columns;
    this.#width = names.length;
  }

  /** One record (a line, or several lines joined when a quoted cell holds line breaks). */
  principal(record: string, where: string): Principal {
    const cells = parseCsvRecord(record, where);
    if (cells.length !== this.#width) throw new InventoryError(`${where}: ${cells.length} cells, the header has ${this.#width}`);
    const cell = (f: Field): string | undefined => {
      const i = this.#columns.get(f);
      return i === undefined ? undefined : (cells[i] as string);
    };
    const list = (f: Field): string[] => {
      const c = cell(f)?.trim() ?? '';
      if (c === '') return [];
      if (c.startsWith('[')) {
        let v: unknown;
        try {
          v = JSON.parse(c);
        } catch {
          throw new InventoryError(`${where}: ${f}: a cell starting with [ must be a JSON array of strings`);
        }
        return stringList(v, f, where);
      }
      return c.split(';').map((s) => s.trim()).filter((s) => s !== '');
    };
    const text = (f: Field): string | undefined => {
      const c = cell(f);
      return c === undefined || c === '' ? undefined : c;
    };
    return build(
      { kind: text('kind'), key_alias: text('key_alias'), team_alias: text('team_alias'), tags: list('tags'), models: list('models'), policies: list('policies'), team_policies: list('team_policies') },
      where,
    );
  }

  /** True when `text` ends inside a quoted cell (the record goes on on the next line). */
  static isOpen(text: string): boolean {
    let quotes = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 34) quotes++;
    return quotes % 2 === 1;
  }
}

interface Fields {
  readonly kind: string | undefined;
  readonly key_alias: string | undefined;
  readonly team_alias: string | undefined;
  readonly tags: string[];
  readonly models: string[];
  readonly policies: string[];
  readonly team_policies: string[];
}

function build(f: Fields, where: string): Principal {
  const kind = f.kind ?? 'key';
  if (kind !== 'key' && kind !== 'team') throw new InventoryError(`${where}: kind: '${kind}' is not key or team`);
  if (kind === 'team') {
    if (f.team_alias === undefined) throw new InventoryError(`${where}: a team needs a team_alias`);
    if (f.key_alias !== undefined) throw new InventoryError(`${where}: a team has no key_alias (kind is team)`);
    if (f.team_policies.length > 0) throw new InventoryError(`${where}: a team's policies go in policies, not team_policies`);
  }
  return { kind, keyAlias: f.key_alias === '' ? undefined : f.key_alias, teamAlias: f.team_alias, tags: f.tags, models: f.models, policies: f.policies, teamPolicies: f.team_policies };
}

function optionalString(v: unknown, field: string, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InventoryError(`${where}: ${field}: expected a string or null, got ${describe(v)}`);
  return v;
}

function stringList(v: unknown, field: string, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InventoryError(`${where}: ${field}: expected a list of strings, got ${describe(v)}`);
  return v as string[];
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** RFC 4180 cells of one record: commas separate, double quotes quote, "" is a quote inside quotes. */
function parseCsvRecord(text: string, where: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  let wasQuoted = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      cell += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (cell !== '' || wasQuoted) throw new InventoryError(`${where}: a quote in the middle of an unquoted cell (cell ${cells.length + 1})`);
      quoted = wasQuoted = true;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      wasQuoted = false;
    } else if (wasQuoted && c !== '\r') {
      throw new InventoryError(`${where}: text after a closing quote (cell ${cells.length + 1})`);
    } else if (c !== '\r' || i !== text.length - 1) cell += c;
    i++;
  }
  if (quoted) throw new InventoryError(`${where}: a quoted cell is not closed`);
  cells.push(cell);
  return cells;
}
