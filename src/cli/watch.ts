import { parseArgs } from 'node:util';
import type { PdpClientError } from '../client/index.js';
import { WatchEvent } from '../gen/guardrail/pdp/v1/watch.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { connect, REMOTE_OPTIONS, REMOTE_USAGE, remoteFromFlags, remoteHelp, reportCallError } from './remote.js';

const USAGE = `usage: guardrail-pdp watch ${REMOTE_USAGE} [--known-revision REV]\n`;

const HELP = `${USAGE}
Prints a running sidecar's Watch stream, one WatchEvent per line as proto3 JSON: the current snapshot
(ACTIVATED), then every activation and failed activation, until the sidecar ends the stream (exit 0),
SIGINT or SIGTERM (exit 0), or the stream fails (exit 3).

  --known-revision REV    Skip the first event if it would announce this revision.

${remoteHelp()}`;

/** `watch`: prints Watch events as JSON lines until the stream ends, fails or the process is signalled. */
export async function runWatch(args: string[], io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...REMOTE_OPTIONS, 'known-revision': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const remote = remoteFromFlags(values, 1000, problems);
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);
  if (problems.length > 0) return usageError(io, problems, USAGE);
  const client = connect(remote, io, USAGE);
  if (typeof client === 'number') return client;
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  signals.once('SIGINT', stop);
  signals.once('SIGTERM', stop);
  try {
    for await (const event of client.watch({ knownRevision: values['known-revision'] ?? '', signal: abort.signal }))
      io.stdout.write(`${JSON.stringify(WatchEvent.toJSON(event))}\n`);
    return EXIT.OK;
  } catch (e) {
    return reportCallError(e as PdpClientError, 'watch', io);
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
    client.close();
  }
}
