import { createReadStream } from 'node:fs';
import { CsvInventory, InventoryError, principalFromJson, principalFromValue, type Principal } from '../review/inventory.js';
import { LiteLLMDatabase } from '../sources/postgres/postgres-read.js';

/** The longest line (or CSV record) an inventory file may have, in characters. Rows are not capped: the file is streamed. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** An inventory's format: by extension (.jsonl, .ndjson, .json: JSON lines; .csv: CSV), else sniffed from the first non-empty line. */
export type InventoryFormat = 'jsonl' | 'csv';

function formatByExtension(path: string): InventoryFormat | undefined {
  if (/\.(jsonl|ndjson|json)$/i.test(path)) return 'jsonl';
  if (/\.csv$/i.test(path)) return 'csv';
  return undefined;
}

/**
 * Streams an inventory file, calling `onPrincipal` per key or team, and returns how many records
 * it read. Throws InventoryError (`file:line: ...`) for a bad record, a line over MAX_LINE_CHARS,
 * a CSV header without a required column, or a file that cannot be read.
 */
export async function readInventoryFile(path: string, onPrincipal: (p: Principal) => void): Promise<number> {
  let format = formatByExtension(path);
  let csv: CsvInventory | undefined;
  let pending = '';
  let pendingStart = 0;
  let count = 0;
  const record = (text: string, lineNo: number): void => {
    const where = `${path}:${lineNo}`;
    if (text.length > MAX_LINE_CHARS) throw new InventoryError(`${where}: a line longer than ${MAX_LINE_CHARS} characters`);
    if (format === undefined) format = text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
    if (format === 'jsonl') {
      if (text.trim() === '') return;
      onPrincipal(principalFromJson(text, where));
      count++;
      return;
    }
    // CSV: a quoted cell may hold line breaks, so a record may span lines.
    const joined = pending === '' ? text : `${pending}\n${text}`;
    const start = pending === '' ? lineNo : pendingStart;
    if (CsvInventory.isOpen(joined)) {
      if (joined.length > MAX_LINE_CHARS) throw new InventoryError(`${path}:${start}: a record longer than ${MAX_LINE_CHARS} characters (an unclosed quote?)`);
      pending = joined;
      pendingStart = start;
      return;
    }
    pending = '';
    if (joined.trim() === '') return;
    if (csv === undefined) {
      csv = new CsvInventory(joined, `${path}:${start}`);
      return;
    }
    onPrincipal(csv.principal(joined, `${path}:${start}`));
    count++;
  };

  let lineNo = 0;
  let carry = '';
  try {
    const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = carry + chunk;
      const last = text.lastIndexOf('\n');
      if (last !== -1) {
        const lines = text.slice(0, last).split('\n');
        if (format === 'jsonl' && jsonBatch(lines, lineNo, path, onPrincipal)) count += lines.filter((l) => l.trim() !== '').length;
        else for (let i = 0; i < lines.length; i++) record(stripCr(lines[i] as string), lineNo + i + 1);
        lineNo += lines.length;
        text = text.slice(last + 1);
      }
      if (text.length > MAX_LINE_CHARS) throw new InventoryError(`${path}:${lineNo + 1}: a line longer than ${MAX_LINE_CHARS} characters`);
      carry = text;
    }
  } catch (e) {
    if (e instanceof InventoryError) throw e;
    throw new InventoryError(`cannot read inventory ${path}: ${(e as Error).message}`);
  }
  if (carry !== '') record(stripCr(carry), ++lineNo);
  if (pending !== '') throw new InventoryError(`${path}:${pendingStart}: a quoted cell is not closed`);
  if (format === 'csv' && csv === undefined) throw new InventoryError(`${path}:1: no CSV header (the columns key_alias and team_alias are required)`);
  return count;
}

/**
 * JSON lines parsed in one JSON.parse call (several times faster than one call per line); false
 * when some line does not parse or is too long, and the caller parses them one by one to say which.
 */
function jsonBatch(lines: readonly string[], before: number, path: string, onPrincipal: (p: Principal) => void): boolean {
  const kept: number[] = [];
  const texts: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length > MAX_LINE_CHARS) return false;
    if (line.trim() === '') continue;
    kept.push(i);
    texts.push(line);
  }
  let values: unknown[];
  try {
    values = JSON.parse(`[${texts.join(',')}]`) as unknown[];
  } catch {
    return false;
  }
  // A line like `1,2` would parse as two values: the counts then differ and the lines are parsed one by one.
  if (values.length !== texts.length) return false;
  for (let j = 0; j < values.length; j++) onPrincipal(principalFromValue(values[j], `${path}:${before + (kept[j] as number) + 1}`));
  return true;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** LiteLLM's keys and teams (LiteLLM_VerificationToken, LiteLLM_TeamTable) as principals; see LiteLLMDatabase.readInventory. */
export async function readPostgresInventory(url: string, onPrincipal: (p: Principal) => void): Promise<number> {
  const db = await LiteLLMDatabase.connect(url);
  try {
    const inv = await db.readInventory();
    for (const k of inv.keys) {
      onPrincipal({ kind: 'key', keyAlias: k.alias ?? undefined, teamAlias: k.teamAlias ?? undefined, tags: k.tags, models: k.models, policies: k.policies, teamPolicies: k.teamPolicies });
    }
    for (const t of inv.teams) {
      onPrincipal({ kind: 'team', keyAlias: undefined, teamAlias: t.teamAlias ?? undefined, tags: t.tags, models: t.models, policies: t.policies, teamPolicies: [] });
    }
    return inv.keys.length + inv.teams.length;
  } finally {
    await db.close();
  }
}
