#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCompile } from './compile.js';
import { runHealth } from './health.js';
import { EXIT, type CliIo } from './io.js';
import { runPipeline } from './pipeline.js';
import { runResolve } from './resolve.js';
import { runServe } from './serve.js';
import { runTest } from './test.js';
import { runValidate } from './validate.js';
import { runWatch } from './watch.js';

const USAGE = `usage: guardrail-pdp <command> [options]

Commands:
  serve     (--bundle FILE | --db FILE.db) [--mode strict|compat] [--listen ADDR] [--admin-listen ADDR]
            [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--max-in-flight N] ...
            Serve the decision API (gRPC) for a bundle or db. Every option, its PDP_* variable
            and its default: 'guardrail-pdp serve --help'.
  validate  (FILE | --bundle FILE) [--mode strict|compat]
            Print every issue in a bundle. Exit 0 valid, 1 invalid, 2 unreadable or unparseable.
  compile   (FILE | --bundle FILE) -o FILE.db [--mode strict|compat]
            Write a bundle as a SQLite db for 'serve --db'. Exit 0 written, 1 invalid, 2 unreadable.
  compile   --from-postgres (URL | env:VAR) -o FILE.db [--config CONFIG.yaml] [--mode strict|compat]
            [--watch SECONDS [--metrics-listen HOST:PORT]]
            Write LiteLLM's policy tables from its Postgres as a db; with --watch, again on every change.
  diff      OLD NEW [--json] [--fail-on removed|changed] [--mode strict|compat]
            Which requests gain or lose guardrails or pipelines between two policy sets; each is a
            bundle, a db (.db/.sqlite) or postgres:URL|postgres:env:VAR (LiteLLM's database).
            Exit 0 compared, 1 the --fail-on gate failed, 2 bad input or a side unreadable or invalid.
  impact    (BUNDLE | --db FILE.db) --inventory (FILE.jsonl | FILE.csv | postgres:URL) [--against OLD] [--json]
            Which keys and teams each policy reaches, and with --against, whose guardrails change.
  resolve   (--bundle FILE | --db FILE.db | --server ADDR | --socket PATH) (--context JSON | --contexts FILE.jsonl)
            [--request-policy NAME]... [--key-policy NAME]... [--team-policy NAME]...
            Answer Resolve offline, or ask a running sidecar; prints the ResolveResponse as JSON.
  pipeline  (--bundle FILE | --db FILE.db | --server ADDR | --socket PATH) --policy NAME --input (JSON | @FILE | -)
            Run a policy's pipeline offline or in a running sidecar over an ExecutePipelineRequest in
            proto3 JSON (e.g. {"messages":[{"role":"user","content":"..."}]}); prints the answer as JSON.
  test      (BUNDLE | --bundle FILE | --db FILE.db) [SUITE...] [--mode strict|compat] [--junit FILE]
            Run policy test suites (YAML; without SUITE, the *_test.yaml files beside the bundle).
            Exit 0 all passed, 1 a case failed, 2 a bad suite or an invalid or unreadable bundle.
  watch     (--server ADDR | --socket PATH)
            Print a running sidecar's Watch events as JSON lines.
  health    (--server ADDR | --socket PATH) [--timeout-ms MS]
            Exit 0 when a running sidecar reports SERVING (an exec probe without grpcurl).
  inject    [-f FILE | -] --image IMAGE [--all] [--classic-sidecar] ...
            Add the sidecar to the pod templates of Kubernetes YAML; 'guardrail-pdp inject --help'.
  injector  --tls-cert FILE --tls-key FILE --image IMAGE ...
            Serve the sidecar-injecting admission webhook; 'guardrail-pdp injector --help'.
  version   Print the version.

'guardrail-pdp COMMAND --help' describes a command and all its options (TLS for --server too).
Every command that compiles takes --require-executable and --content-filter-categories DIR, as serve does.
`;

/** Runs one command line; resolves to the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'serve':
        return await runServe(args, io);
      case 'validate':
        return await runValidate(args, io);
      case 'compile':
        return await runCompile(args, io);
      case 'resolve':
        return await runResolve(args, io);
      case 'diff':
        return await (await import('./diff.js')).runDiff(args, io);
      case 'impact':
        return await (await import('./impact.js')).runImpact(args, io);
      case 'pipeline':
        return await runPipeline(args, io);
      case 'test':
        return await runTest(args, io);
      case 'watch':
        return await runWatch(args, io);
      case 'health':
        return await runHealth(args, io);
      // Loaded on demand: serve's startup (its signal handlers) must not wait for the injection code.
      case 'inject':
        return await (await import('./inject.js')).runInject(args, io);
      case 'injector':
        return await (await import('./injector.js')).runInjector(args, io);
      case 'version':
      case '--version':
        io.stdout.write(args.includes('--help') || args.includes('-h') ? 'usage: guardrail-pdp version\nPrints the version.\n' : `${version()}\n`);
        return EXIT.OK;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        io.stderr.write(`unknown command '${command}'\n${USAGE}`);
        return EXIT.USAGE;
    }
  } catch (e) {
    // parseArgs throws TypeErrors for unknown or malformed flags: a usage error, not a crash.
    if (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`${e.message}\n${USAGE}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

process.exitCode = await run(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
