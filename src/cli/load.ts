import { compile } from '../compile/compile.js';
import { PdpError } from '../errors.js';
import type { EnvLookup } from '../guardrails/env-references.js';
import type { GuardrailEnv } from '../guardrails/kind.js';
import { envLookup } from './config.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SourceConfig } from '../sources/create-source.js';
import type { PolicySource } from '../sources/source.js';
import { EXIT } from './io.js';
import { countIssues, formatIssue } from './report.js';
import { finish } from '../steps.js';

/** The compile flags every command that compiles takes, as `serve` does (parseArgs options). */
export const COMPILE_FLAGS = Object.freeze({
  'require-executable': { type: 'boolean' },
  'content-filter-categories': { type: 'string' },
} as const);

/** What the compile flags and the environment say, for loadAndCompile and createSource. */
export interface CompileSettings {
  readonly lookupEnv: EnvLookup;
  readonly requireExecutable: boolean;
  readonly contentFilterCategoriesDir: string | undefined;
}

/** The compile settings of a command: its flags, else serve's PDP_* variables, and the environment for os.environ/ values. */
export function compileSettings(
  values: { readonly 'require-executable'?: boolean; readonly 'content-filter-categories'?: string },
  env: Readonly<Record<string, string | undefined>>,
): CompileSettings {
  const required = values['require-executable'] ?? ['true', '1'].includes(env.PDP_REQUIRE_EXECUTABLE ?? '');
  const dir = values['content-filter-categories'] ?? (env.PDP_CONTENT_FILTER_CATEGORIES || undefined);
  return { lookupEnv: envLookup(env), requireExecutable: required, contentFilterCategoriesDir: dir };
}

/** A compiled source, or the exit code after the problem was printed. */
export type Loaded =
  | { readonly ok: true; readonly bundle: Bundle; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly exitCode: number };

/**
 * Loads and compiles a source for a command, printing every issue (warnings too) to `out`.
 * An unreadable or unparseable source exits 2 (its message on `err`); a bundle with errors exits 1
 * after the summary line `<origin>: invalid (N errors, M warnings; mode M)<invalidNote>`.
 * `guardrailEnv` is what compiled guardrails use at run time (a command that runs checks passes
 * its own HTTP pool, and closes it); unset, defaults apply. `settings` carry the compile flags and
 * the environment (compileSettings).
 */
export async function loadAndCompile(
  source: PolicySource,
  mode: ValidationMode,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  invalidNote = '',
  guardrailEnv?: GuardrailEnv,
  settings?: CompileSettings,
): Promise<Loaded> {
  let bundle: Bundle;
  try {
    bundle = await source.load();
  } catch (e) {
    const error = PdpError.from(e);
    for (const issue of error.issues) out.write(`${formatIssue(issue)}\n`);
    err.write(`${error.message}\n`);
    return { ok: false, exitCode: EXIT.UNREADABLE };
  }
  const extras = settings === undefined ? {} : { lookupEnv: settings.lookupEnv, requireExecutable: settings.requireExecutable };
  const result = finish(compile(bundle, guardrailEnv === undefined ? { mode, ...extras } : { mode, guardrailEnv, ...extras }));
  for (const issue of result.issues) out.write(`${formatIssue(issue)}\n`);
  if (!result.ok) {
    out.write(`${source.origin}: invalid (${countIssues(result.issues)}; mode ${mode})${invalidNote}\n`);
    return { ok: false, exitCode: EXIT.INVALID };
  }
  return { ok: true, bundle, snapshot: result.snapshot, issues: result.issues };
}

/** The source named by a command's `--bundle FILE | --db FILE.db` pair, or a problem when not exactly one is given. */
export function sourceFromFlags(flags: { readonly bundle?: string; readonly db?: string }, problems: string[]): SourceConfig {
  if ((flags.bundle === undefined) === (flags.db === undefined)) problems.push('give exactly one of --bundle or --db');
  return flags.db !== undefined ? { kind: 'db', path: flags.db } : { kind: 'bundle', path: flags.bundle ?? '' };
}

/**
 * The bundle file of `validate` and `compile`, given as their one argument or as `--bundle FILE`
 * (the form the other commands take); a problem unless exactly one of them names exactly one file.
 */
export function bundleFileArgument(flag: string | undefined, positionals: readonly string[], command: string, problems: string[]): string {
  const files = flag === undefined ? positionals : [flag, ...positionals];
  if (files.length !== 1) problems.push(`${command} takes exactly one bundle file: FILE or --bundle FILE`);
  return files[0] ?? '';
}
