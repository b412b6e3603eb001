import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { HttpPool } from '../guardrails/generic-api/http-pool.js';
import { createSource, type SourceConfig } from '../sources/create-source.js';
import { FileReadError, readRegularFile } from '../sources/read-file.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { COMPILE_FLAGS, compileSettings, loadAndCompile, sourceFromFlags } from './load.js';
import { reportCheckErrors } from './offline.js';
import { toJunitXml } from './policy-test/junit.js';
import { formatFailure, runSuites } from './policy-test/run.js';
import { formatSuiteIssue, MAX_CASES, parseSuite, type Suite, type SuiteIssue } from './policy-test/suite.js';

/** Largest suite file read, as for a bundle file. */
export const MAX_SUITE_BYTES = 16 * 1024 * 1024;

/** test's exit codes: 1 means a case failed, so a bundle that does not compile exits 2, with a bad suite. */
const EXIT_FAILED = 1;
const EXIT_BAD = 2;

const USAGE =
  'usage: guardrail-pdp test (BUNDLE | --bundle FILE | --db FILE.db) [SUITE...] [--mode strict|compat] [--junit FILE]\n' +
  '         [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
Runs policy test suites (YAML; docs/policy-tests.md) against a bundle file or db, compiled as serve
compiles it and answered by the same engine as Resolve and ExecutePipeline. Without SUITE, runs the
*_test.yaml files in the bundle's (or db's) directory, in name order.

Prints one line per failure (FILE:LINE:COLUMN: case "NAME": FIELD expected X, got Y), then
"N passed, M failed". Bundle issues and bad suites go to stderr.

Options:
  --junit FILE                     Also write the results as JUnit XML to FILE (replaced atomically).
  --mode strict|compat             Validation mode (default strict).
  --require-executable, --content-filter-categories DIR   As for serve (docs/cli.md).

Exit 0 every case passed, 1 a case failed, 2 a bad suite (every issue with file, line and column),
no suite found, a bundle that is invalid or unreadable, or a bad option.
`;

/**
 * `test`: parses every suite first (any problem: exit 2 before compiling), loads and compiles the
 * bundle or db as serve does (invalid or unreadable: exit 2), runs every case and prints the
 * failures and a summary; `--junit FILE` also writes JUnit XML. Exit 0 all passed, 1 a case failed.
 */
export async function runTest(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { bundle: { type: 'string' }, db: { type: 'string' }, mode: { type: 'string' }, junit: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...COMPILE_FLAGS },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  // BUNDLE is the first argument unless --bundle or --db names the policies; the rest are suites.
  const isNamedByFlag = values.bundle !== undefined || values.db !== undefined;
  const [first, ...rest] = positionals;
  const sourceConfig: SourceConfig = isNamedByFlag ? sourceFromFlags(values, problems) : { kind: 'bundle', path: first ?? '' };
  if (!isNamedByFlag && first === undefined) problems.push('give the bundle: BUNDLE, --bundle FILE or --db FILE.db');
  if (values.junit === '') problems.push('--junit: give a file name');
  if (problems.length > 0) return usageError(io, problems, USAGE);

  const suitePaths = isNamedByFlag ? positionals : rest;
  const found = suitePaths.length > 0 ? suitePaths : await findSuites(sourceConfig.path, io);
  if (found === undefined) return EXIT_BAD;
  const suites = await readSuites(found, io);
  if (suites === undefined) return EXIT_BAD;

  const settings = compileSettings(values, io.env);
  const source = createSource(sourceConfig, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir });
  const httpPool = new HttpPool();
  try {
    // stdout is the report: the bundle's issues go to stderr.
    const loaded = await loadAndCompile(source, mode, io.stderr, io.stderr, '', httpPool, settings);
    if (!loaded.ok) return EXIT_BAD;
    const results = await runSuites(loaded.snapshot, suites, reportCheckErrors(io.stderr));
    const lines: string[] = [];
    let passed = 0;
    let failed = 0;
    for (const { suite, cases } of results)
      for (const c of cases) {
        if (c.failures.length === 0) passed++;
        else failed++;
        for (const f of c.failures) lines.push(formatFailure(suite.file, c.case, f));
      }
    const suiteCount = `${suites.length} suite${suites.length === 1 ? '' : 's'}`;
    lines.push(`${passed} passed, ${failed} failed (${suiteCount}; revision ${loaded.snapshot.revision})`);
    io.stdout.write(`${lines.join('\n')}\n`);
    if (values.junit !== undefined) {
      try {
        await writeAtomically(values.junit, toJunitXml(results));
      } catch (e) {
        io.stderr.write(`--junit: cannot write ${values.junit}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
        return EXIT_BAD;
      }
    }
    return failed > 0 ? EXIT_FAILED : EXIT.OK;
  } finally {
    await httpPool.close().catch(() => undefined);
  }
}

/** The *_test.yaml files beside the bundle or db, in name order; undefined (reported) when there are none. */
async function findSuites(policies: string, io: CliIo): Promise<string[] | undefined> {
  const dir = dirname(policies);
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => !e.isDirectory() && e.name.endsWith('_test.yaml')).map((e) => e.name);
  } catch (e) {
    io.stderr.write(`cannot list ${dir} for *_test.yaml suites: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return undefined;
  }
  if (names.length === 0) {
    io.stderr.write(`no test suites: give SUITE files, or put *_test.yaml files beside ${basename(policies)} in ${dir}\n`);
    return undefined;
  }
  return names.sort().map((n) => join(dir, n));
}

/** Every suite read (bounded) and parsed, or undefined after printing every issue of every file. */
async function readSuites(paths: readonly string[], io: CliIo): Promise<Suite[] | undefined> {
  const suites: Suite[] = [];
  const issues: SuiteIssue[] = [];
  for (const file of paths) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readRegularFile(file, MAX_SUITE_BYTES));
    } catch (e) {
      const why =
        e instanceof FileReadError && e.kind === 'too_large'
          ? `${e.message}; a suite may have at most ${MAX_SUITE_BYTES} bytes`
          : e instanceof FileReadError
            ? e.message
            : 'it is not UTF-8 text';
      issues.push({ file, line: 0, column: 0, message: `cannot read the suite: ${why}` });
      continue;
    }
    const parsed = parseSuite(file, text);
    if (parsed.ok) suites.push(parsed.suite);
    else issues.push(...parsed.issues);
  }
  const total = suites.reduce((n, s) => n + s.cases.length, 0);
  if (total > MAX_CASES) issues.push({ file: paths.join(', '), line: 0, column: 0, message: `${total} cases in all; at most ${MAX_CASES} are run at once` });
  if (issues.length === 0) return suites;
  for (const i of issues) io.stderr.write(`${formatSuiteIssue(i)}\n`);
  io.stderr.write(`${issues.length} suite issue${issues.length === 1 ? '' : 's'}; no case was run\n`);
  return undefined;
}

/** Writes `text` to a temp file beside `path`, then renames it over `path`: a reader sees the old file or the new one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
