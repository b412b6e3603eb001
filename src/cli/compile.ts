import { parseArgs } from 'node:util';
import { parseBundle } from '../compile/parse/parse.js';
import { writeSqliteDb } from '../sources/sqlite/sqlite-writer.js';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { bundleFileArgument, COMPILE_FLAGS, compileSettings, loadAndCompile } from './load.js';
import { countIssues } from './report.js';
import { finish } from '../steps.js';

const USAGE =
  'usage: guardrail-pdp compile (BUNDLE | --bundle BUNDLE) -o FILE.db [--mode strict|compat]\n' +
  '         [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
Writes a bundle that validates in the mode as a SQLite db with LiteLLM's policy tables, for
'serve --db' (docs/sqlite-db.md), replacing FILE.db atomically. Prints every issue as validate does.
SOURCE_DATE_EPOCH (seconds), when set, fixes the db's timestamps, so the same bundle gives the same file.
--require-executable and --content-filter-categories DIR mean what they mean for serve (docs/cli.md).

Exit 0 written, 1 bundle invalid (nothing written), 2 bad option, unreadable bundle or unwritable db.
`;

/**
 * `compile (BUNDLE | --bundle BUNDLE) -o FILE.db [--mode strict|compat]`: writes a bundle that compiles cleanly in the
 * mode as a SQLite db (`serve --db`), replacing FILE.db atomically. Prints every issue like
 * `validate`. Exit 0 written, 1 invalid (nothing written), 2 bad usage, unreadable bundle or
 * unwritable db. `SOURCE_DATE_EPOCH` (seconds), when set, fixes the db's timestamps, so compiling
 * the same bundle gives the same file.
 */
export async function runCompile(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { bundle: { type: 'string' }, output: { type: 'string', short: 'o' }, mode: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...COMPILE_FLAGS },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.stdout.write(HELP);
    return EXIT.OK;
  }
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const path = bundleFileArgument(values.bundle, positionals, 'compile', problems);
  if (values.output === undefined || values.output === '') problems.push('-o FILE.db is required: where to write the db');
  const now = sourceDateEpoch(io.env.SOURCE_DATE_EPOCH, problems);
  if (problems.length > 0) {
    io.stderr.write(`${problems.join('\n')}\n${USAGE}`);
    return EXIT.USAGE;
  }
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
