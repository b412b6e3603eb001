import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { PdpError } from '../errors.js';
import { DEFAULTS, loadServeConfig, SERVE_OPTIONS } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { countIssues, formatIssue } from './report.js';

/** The `serve --help` text: every option, its variable and its default. */
export function serveHelp(): string {
  const rows = SERVE_OPTIONS.map((o) => `  --${o.flag.padEnd(14)} ${o.env.padEnd(18)} ${o.help}`);
  return `usage: guardrail-pdp serve --bundle FILE [options]\n\nOptions (flag, environment variable, meaning):\n${rows.join('\n')}\n\nOn SIGTERM or SIGINT: health turns NOT_SERVING, in-flight calls get ${DEFAULTS.shutdownGraceMs / 1000} s, then the process exits 0.\n`;
}

/**
 * `serve`: activates the bundle and serves until SIGTERM/SIGINT. A bad configuration exits 2;
 * a bundle that does not validate exits 1 with every issue on stderr.
 */
export async function runServe(args: string[], io: CliIo): Promise<number> {
  const options = Object.fromEntries(SERVE_OPTIONS.map((o) => [o.flag, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, allowPositionals: true });
  if (values.help === true) {
    io.stdout.write(serveHelp());
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    io.stderr.write(`unexpected argument '${positionals[0]}'\n${serveHelp()}`);
    return EXIT.USAGE;
  }
  let app;
  try {
    app = createApp(loadServeConfig(values as Record<string, string>, io.env));
    await app.start();
  } catch (e) {
    const err = PdpError.from(e);
    for (const issue of err.issues) io.stderr.write(`${formatIssue(issue)}\n`);
    if (err.issues.length > 0) io.stderr.write(`${countIssues(err.issues)}\n`);
    io.stderr.write(`guardrail-pdp: ${err.message}\n`);
    await app?.stop();
    return err.code === 'BUNDLE_INVALID' && err.issues.some((i) => i.rule !== 'unparseable') ? EXIT.INVALID : EXIT.UNREADABLE;
  }
  const running = app;
  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      running.stop().then(
        () => resolve(EXIT.OK),
        () => resolve(EXIT.OK),
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
