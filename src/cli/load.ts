import { compile } from '../compile/compile.js';
import { PdpError } from '../errors.js';
import type { GuardrailEnv } from '../guardrails/kind.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { ValidationMode } from '../model/policy.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SourceConfig } from '../sources/create-source.js';
import type { PolicySource } from '../sources/source.js';
import { EXIT } from './io.js';
import { countIssues, formatIssue } from './report.js';
import { finish } from '../steps.js';

/** A compiled source, or the exit code after the problem was printed. */
export type Loaded =
  | { readonly ok: true; readonly bundle: Bundle; readonly snapshot: Snapshot; readonly issues: readonly Issue[] }
  | { readonly ok: false; readonly exitCode: number };

/**
 * Loads and compiles a source for a command, printing every issue (warnings too) to `out`.
 * An unreadable or unparseable source exits 2 (its message on `err`); a bundle with errors exits 1
 * after the summary line `<origin>: invalid (N errors, M warnings; mode M)<invalidNote>`.
 * `guardrailEnv` is what compiled guardrails use at run time (a command that runs checks passes
 * its own HTTP pool, and closes it); unset, defaults apply.
 */
export async function loadAndCompile(
  source: PolicySource,
  mode: ValidationMode,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  invalidNote = '',
  guardrailEnv?: GuardrailEnv,
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
  const result = finish(compile(bundle, guardrailEnv === undefined ? { mode } : { mode, guardrailEnv }));
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
