import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ValidationMode } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import { createSource, type SourceConfig } from '../sources/create-source.js';
import { EXIT, type CliIo } from './io.js';
import { loadAndCompile, type CompileSettings } from './load.js';
import { PostgresSync, postgresUrl } from './postgres-sync.js';
import { formatIssue } from './report.js';

/**
 * One side of `diff` (and the policy set of `impact`): a bundle file, a db, or LiteLLM's live
 * database. Written as
 * - `postgres:URL` or `postgres:env:VAR`: LiteLLM's Postgres, read as `compile --from-postgres` reads it;
 * - `db:PATH` or a path ending `.db`, `.sqlite` or `.sqlite3`: a SQLite db;
 * - `bundle:PATH` or any other path: a bundle file (YAML or JSON).
 */
export type PolicySide = SourceConfig | { readonly kind: 'postgres'; readonly url: string; readonly written: string };

const DB_EXTENSIONS = /\.(db|sqlite3?)$/i;

/** The side an argument names, or undefined with a problem added. */
export function parsePolicySide(arg: string, env: CliIo['env'], what: string, problems: string[]): PolicySide | undefined {
  if (arg.startsWith('postgres:')) {
    const value = arg.slice('postgres:'.length);
    const url = postgresUrl(value, env, what, problems);
    if (url === undefined) return undefined;
    if (url === '') {
      problems.push(`${what}: postgres: needs a URL or env:VAR`);
      return undefined;
    }
    return { kind: 'postgres', url, written: `postgres:${value.startsWith('env:') ? value : '(URL)'}` };
  }
  if (arg.startsWith('db:')) return { kind: 'db', path: arg.slice(3) };
  if (arg.startsWith('bundle:')) return { kind: 'bundle', path: arg.slice(7) };
  if (arg === '') {
    problems.push(`${what}: empty path`);
    return undefined;
  }
  return DB_EXTENSIONS.test(arg) ? { kind: 'db', path: arg } : { kind: 'bundle', path: arg };
}

/** A compiled side, or the exit code after the problem was printed (2: unreadable or invalid). */
export type LoadedSide = { readonly ok: true; readonly snapshot: Snapshot; readonly origin: string } | { readonly ok: false; readonly exitCode: number };

/**
 * Loads and compiles a side exactly as `serve` would (loadAndCompile with the command's compile
 * settings). LiteLLM's Postgres is first written as a db by one `compile --from-postgres` round
 * (PostgresSync, into a temp directory removed afterwards), then served from it like any db.
 * Issues go to `io.stderr` (stdout carries the report). A side that cannot be read or does not
 * validate exits 2: for these commands 1 means the review's gate failed.
 */
export async function loadPolicySide(side: PolicySide, mode: ValidationMode, settings: CompileSettings, io: CliIo): Promise<LoadedSide> {
  let temp: string | undefined;
  try {
    let config: SourceConfig;
    if (side.kind === 'postgres') {
      temp = mkdtempSync(join(tmpdir(), 'pdp-review-'));
      const output = join(temp, 'litellm.db');
      let sync: PostgresSync;
      try {
        sync = new PostgresSync({ url: side.url, output, mode });
      } catch (e) {
        io.stderr.write(`${side.written}: ${(e as Error).message}\n`);
        return { ok: false, exitCode: EXIT.UNREADABLE };
      }
      const o = await sync.round(true);
      for (const issue of o.issues) io.stderr.write(`${formatIssue(issue)}\n`);
      if (o.error !== undefined) {
        io.stderr.write(`${o.error}\n`);
        return { ok: false, exitCode: EXIT.UNREADABLE };
      }
      config = { kind: 'db', path: output };
      const loaded = await loadAndCompile(createSource(config, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir }), mode, io.stderr, io.stderr, '', undefined, settings);
      return loaded.ok ? { ok: true, snapshot: loaded.snapshot, origin: sync.redacted } : { ok: false, exitCode: EXIT.UNREADABLE };
    }
    config = side;
    const loaded = await loadAndCompile(createSource(config, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir }), mode, io.stderr, io.stderr, '', undefined, settings);
    return loaded.ok ? { ok: true, snapshot: loaded.snapshot, origin: config.path } : { ok: false, exitCode: EXIT.UNREADABLE };
  } finally {
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
  }
}
