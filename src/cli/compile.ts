import { parseArgs } from 'node:util';
import { parseBundle } from '../compile/parse/parse.js';
import { writeSqliteDb } from '../sources/sqlite/sqlite-writer.js';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { bundleFileArgument, COMPILE_FLAGS, compileSettings, loadAndCompile } from './load.js';
import { countIssues } from './report.js';
import { runCompileFromPostgres, type PostgresFlags } from './compile-postgres.js';
import { finish } from '../steps.js';

const USAGE =
  'usage: guardrail-pdp compile (BUNDLE | --bundle BUNDLE) -o FILE.db [--mode strict|compat]\n' +
  '         [--require-executable] [--content-filter-categories DIR]\n' +
  '       guardrail-pdp compile --from-postgres (URL | env:VAR) -o FILE.db [--config CONFIG.yaml] [--mode strict|compat]\n' +
  '                             [--watch SECONDS [--metrics-listen HOST:PORT]] [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
Writes a bundle that validates in the mode as a SQLite db with LiteLLM's policy tables, for
'serve --db' (docs/sqlite-db.md), replacing FILE.db atomically. Prints every issue as validate does.
SOURCE_DATE_EPOCH (seconds), when set, fixes the db's timestamps, so the same bundle gives the same file.
--require-executable and --content-filter-categories DIR mean what they mean for serve (docs/cli.md).

--from-postgres reads LiteLLM's policy, attachment and active guardrail tables from its database
instead (URL, or env:VAR to take it from a variable), checks them as the sidecar compiles them and
writes the db (docs/postgres.md); the check uses the compile flags, so give it those the sidecars
serving the db run with. --config adds a LiteLLM config's guardrails: section. With
--watch SECONDS it keeps running: a change check every SECONDS (jittered), a full read only after
a change; --metrics-listen serves /metrics, /healthz and /readyz.

Exit 0 written, 1 bundle invalid (nothing written), 2 bad option, unreadable bundle or unwritable db
(or, from Postgres, an unreachable database or one without LiteLLM's tables).
`;

/**
 * `compile (BUNDLE | --bundle BUNDLE) -o FILE.db [--mode strict|compat]`: writes a bundle that compiles cleanly in the
 * mode as a SQLite db (`serve --db`), replacing FILE.db atomically. Prints every issue like
 * `validate`. Exit 0 written, 1 invalid (nothing written), 2 bad usage, unreadable bundle or
 * unwritable db. `SOURCE_DATE_EPOCH` (seconds), when set, fixes the db's timestamps, so compiling
 * the same bundle gives the same file.
 *
 * `compile --from-postgres URL -o FILE.db` writes LiteLLM's policy tables instead (see
 * compile-postgres.ts), once or, with `--watch`, on every change.
 */
export async function runCompile(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      bundle: { type: 'string' },
      output: { type: 'string', short: 'o' },
      mode: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...COMPILE_FLAGS,
      'from-postgres': { type: 'string' },
      config: { type: 'string' },
      watch: { type: 'string' },
      'metrics-listen': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  if (values.output === undefined || values.output === '') problems.push('-o FILE.db is required: where to write the db');
  if (values['from-postgres'] !== undefined) {
    return runCompileFromPostgres(values as PostgresFlags, positionals, mode, compileSettings(values, io.env), USAGE, problems, io);
  }
  for (const flag of ['config', 'watch', 'metrics-listen'] as const) {
    if (values[flag] !== undefined) problems.push(`--${flag} goes with --from-postgres`);
  }
  const path = bundleFileArgument(values.bundle, positionals, 'compile', problems);
  const now = sourceDateEpoch(io.env.SOURCE_DATE_EPOCH, problems);
  if (problems.length > 0) return usageError(io, problems, USAGE);
  const output = values.output as string;

  const settings = compileSettings(values, io.env);
  const source = createSource({ kind: 'bundle', path }, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir });
  const loaded = await loadAndCompile(source, mode, io.stdout, io.stderr, `; ${output} not written`, undefined, settings);
  if (!loaded.ok) return loaded.exitCode;
  const { bundle } = loaded;

  try {
    writeSqliteDb(output, finish(parseBundle(bundle)).parsed, { revision: bundle.hash, now });
  } catch (e) {
    io.stderr.write(`cannot write db ${output}: ${(e as Error).message}\n`);
    return EXIT.UNREADABLE;
  }
  const s = loaded.snapshot;
  io.stdout.write(
    `${output}: written (${s.policies.size} policies, ${s.attachments.size} attachments, ${s.guardrails.size} guardrails; ` +
      `${countIssues(loaded.issues)}; mode ${mode}); serve it with --db ${output}${mode === 'compat' ? ' --mode compat' : ''}\n`,
  );
  return EXIT.OK;
}

function sourceDateEpoch(raw: string | undefined, problems: string[]): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return new Date(Number(raw) * 1000);
  problems.push(`SOURCE_DATE_EPOCH: '${raw}' is not a number of seconds`);
  return undefined;
}
