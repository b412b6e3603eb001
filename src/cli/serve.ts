import { parseArgs } from 'node:util';
import { createApp, type App } from '../app.js';
import { PdpError } from '../errors.js';
import { DEFAULTS, loadServeConfig, SERVE_OPTIONS, type ServeFlags } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { countIssues, formatIssue } from './report.js';

/** Exit code when a second signal (or a stuck shutdown) cuts the graceful shutdown short. */
export const EXIT_FORCED = 1;

/** Margin after the grace period before a stuck shutdown is abandoned. */
const WATCHDOG_MARGIN_MS = 2000;

/** The `serve --help` text: every option, its variable and its default. */
export function serveHelp(): string {
  const rows = SERVE_OPTIONS.map((o) => {
    const name = 'value' in o ? `--${o.flag} ${o.value}` : `--${o.flag}`;
    const dflt = 'default' in o ? ` Default: ${o.default}.` : '';
    return `  ${name.padEnd(32)} ${o.env}\n      ${o.help}${dflt}`;
  });
  return (
    'usage: guardrail-pdp serve (--bundle FILE | --db FILE.db) [options]\n\n' +
    `Options (flag, then environment variable; flags win over variables):\n${rows.join('\n')}\n\n` +
    'On SIGTERM or SIGINT: health turns NOT_SERVING, new calls are refused, calls in flight finish, Watch\n' +
    `streams end with status OK, and the process exits 0 within --shutdown-grace-ms (default ${DEFAULTS.shutdownGraceMs} ms).\n` +
    'A second signal exits at once.\n'
  );
}

/**
 * `serve`: activates the bundle and serves until SIGTERM/SIGINT. A bad configuration exits 2;
 * a bundle that does not validate exits 1 with every issue on stderr.
 */
export async function runServe(args: string[], io: CliIo): Promise<number> {
  const options = Object.fromEntries(
    SERVE_OPTIONS.map((o) => [o.flag, { type: 'isBoolean' in o ? ('boolean' as const) : ('string' as const) }]),
  );
  const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, allowPositionals: true });
  if (values.help === true) {
    io.stdout.write(serveHelp());
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    io.stderr.write(`unexpected argument '${positionals[0]}'\n${serveHelp()}`);
    return EXIT.USAGE;
  }
  let app: App;
  let graceMs: number;
  try {
    const config = loadServeConfig(values as ServeFlags, io.env);
    graceMs = config.shutdownGraceMs;
    app = createApp(config);
  } catch (e) {
    return reportFailure(PdpError.from(e), io);
  }
  // From the start: a SIGTERM during the first activation (seconds, for a large bundle) must get
  // the ordered shutdown too, not Node's default of dying at once.
  const signals = handleSignals(app, graceMs);
  app.log.info({ component: 'cli', pid: process.pid }, 'starting: signals handled, loading policies');
  try {
    await app.start();
  } catch (e) {
    if (signals.isStopping()) return signals.stopped;
    signals.dispose();
    const code = reportFailure(PdpError.from(e), io);
    await app.stop();
    return code;
  }
  return signals.stopped;
}

/** Prints an error that stops serve (every issue of a bad bundle first) and returns its exit code. */
function reportFailure(err: PdpError, io: CliIo): number {
  for (const issue of err.issues) io.stderr.write(`${formatIssue(issue)}\n`);
  if (err.issues.length > 0) io.stderr.write(`${countIssues(err.issues)}\n`);
  io.stderr.write(`guardrail-pdp: ${err.message}\n`);
  return err.code === 'BUNDLE_INVALID' && err.issues.some((i) => i.rule !== 'unparseable') ? EXIT.INVALID : EXIT.UNREADABLE;
}

/** What `handleSignals` gives serve: whether a signal began the shutdown, and the exit code once it is done. */
interface Signals {
  isStopping(): boolean;
  /** Resolves with the exit code once a signal's shutdown has finished. */
  readonly stopped: Promise<number>;
  /** Removes the handlers (serve is exiting for another reason). */
  dispose(): void;
}

/** On SIGTERM or SIGINT, stops gracefully; a second signal exits at once. */
function handleSignals(app: App, graceMs: number): Signals {
  const log = app.log.child({ component: 'cli' });
  let isStopping = false;
  let finish: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    finish = (code) => {
      dispose();
      resolve(code);
    };
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (isStopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT_FORCED);
    }
    isStopping = true;
    log.info({ signal, graceMs }, 'signal received: shutting down gracefully');
    // A shutdown that outlives the grace period (a stuck close) must not keep the pod alive.
    setTimeout(() => {
      log.error({ graceMs }, 'shutdown did not finish in time: exiting now');
      process.exit(EXIT_FORCED);
    }, graceMs + WATCHDOG_MARGIN_MS).unref();
    app.stop().then(
      () => finish(EXIT.OK),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        finish(EXIT_FORCED);
      },
    );
  };
  const dispose = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { isStopping: () => isStopping, stopped, dispose };
}
