import { parseArgs } from 'node:util';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { bundleFileArgument, COMPILE_FLAGS, compileSettings, loadAndCompile } from './load.js';
import { countIssues } from './report.js';

const USAGE = 'usage: guardrail-pdp validate (FILE | --bundle FILE) [--mode strict|compat] [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
Validates a bundle file (YAML or JSON) as serve would load it, and prints every issue
(file:line:column: severity rule: message [path]), then a summary with the revision.
--mode strict (default) rejects what LiteLLM's validator reports as errors; compat loads what
LiteLLM would, reporting those as warnings. --require-executable and --content-filter-categories DIR
mean what they mean for serve (docs/cli.md).

Exit 0 valid (warnings allowed), 1 invalid, 2 unreadable or unparseable.
`;

/**
 * `validate (FILE | --bundle FILE) [--mode strict|compat] [--require-executable] [--content-filter-categories DIR]`:
 * prints every issue, then a summary. Exit 0 valid (warnings allowed), 1 invalid, 2 unreadable or unparseable.
 */
export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { bundle: { type: 'string' }, mode: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...COMPILE_FLAGS },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const path = bundleFileArgument(values.bundle, positionals, 'validate', problems);
  if (problems.length > 0) return usageError(io, problems, USAGE);
  const settings = compileSettings(values, io.env);
  const source = createSource({ kind: 'bundle', path }, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir });
  const loaded = await loadAndCompile(source, mode, io.stdout, io.stderr, '', undefined, settings);
  if (!loaded.ok) return loaded.exitCode;
  const s = loaded.snapshot;
  io.stdout.write(
    `${path}: valid (${s.policies.size} policies, ${s.attachments.size} attachments, ${s.guardrails.size} guardrails; ` +
      `${countIssues(loaded.issues)}; mode ${mode}; revision ${s.revision})\n`,
  );
  return EXIT.OK;
}
