import { parseArgs } from 'node:util';
import { compile } from '../compile/compile.js';
import { parseBundle } from '../compile/parse.js';
import { PdpError } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import { writeSqliteDb } from '../sources/sqlite-writer.js';
import { createYamlBundleSource } from '../sources/yaml-bundle.js';
import { parseMode } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { countIssues, formatIssue } from './report.js';

const USAGE = 'usage: guardrail-pdp compile BUNDLE -o FILE.db [--mode strict|compat]\n';

/**
 * `compile BUNDLE -o FILE.db [--mode strict|compat]`: writes a bundle that compiles cleanly in the
 * mode as a SQLite db (`serve --db`), replacing FILE.db atomically. Prints every issue like
 * `validate`. Exit 0 written, 1 invalid (nothing written), 2 bad usage, unreadable bundle or
 * unwritable db. `SOURCE_DATE_EPOCH` (seconds), when set, fixes the db's timestamps, so compiling
 * the same bundle gives the same file.
 */
export async function runCompile(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { output: { type: 'string', short: 'o' }, mode: { type: 'string' } },
    allowPositionals: true,
  });
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  if (positionals.length !== 1) problems.push('compile takes exactly one bundle file');
  if (values.output === undefined || values.output === '') problems.push('-o FILE.db is required: where to write the db');
  const now = sourceDateEpoch(io.env.SOURCE_DATE_EPOCH, problems);
  if (problems.length > 0) {
    io.stderr.write(`${problems.join('\n')}\n${USAGE}`);
    return EXIT.USAGE;
  }
  const path = positionals[0] as string;
  const output = values.output as string;

  let bundle: Bundle;
  try {
    bundle = await createYamlBundleSource({ path }).load();
  } catch (e) {
    const err = PdpError.from(e);
    for (const issue of err.issues) io.stdout.write(`${formatIssue(issue)}\n`);
    io.stderr.write(`${err.message}\n`);
    return EXIT.UNREADABLE;
  }
  const result = compile(bundle, { mode });
  for (const issue of result.issues) io.stdout.write(`${formatIssue(issue)}\n`);
  if (!result.ok) {
    io.stdout.write(`${path}: invalid (${countIssues(result.issues)}; mode ${mode}); ${output} not written\n`);
    return EXIT.INVALID;
  }

  try {
    writeSqliteDb(output, parseBundle(bundle).parsed, { revision: bundle.hash, now });
  } catch (e) {
    io.stderr.write(`cannot write db ${output}: ${(e as Error).message}\n`);
    return EXIT.UNREADABLE;
  }
  const s = result.snapshot;
  io.stdout.write(
    `${output}: written (${s.policies.size} policies, ${s.attachments.size} attachments, ${s.guardrails.size} guardrails; ` +
      `${countIssues(result.issues)}; mode ${mode}); serve it with --db ${output}${mode === 'compat' ? ' --mode compat' : ''}\n`,
  );
  return EXIT.OK;
}

function sourceDateEpoch(raw: string | undefined, problems: string[]): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return new Date(Number(raw) * 1000);
  problems.push(`SOURCE_DATE_EPOCH: '${raw}' is not a number of seconds`);
  return undefined;
}
