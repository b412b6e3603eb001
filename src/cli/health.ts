import { parseArgs } from 'node:util';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { connect, REMOTE_CALL_OPTIONS, REMOTE_USAGE, remoteFromFlags, remoteHelp } from './remote.js';

const USAGE = `usage: guardrail-pdp health ${REMOTE_USAGE} [--timeout-ms MS]\n`;

const HELP = `${USAGE}
Asks a running sidecar's grpc.health.v1 service whether guardrail.pdp.v1.DecisionService is SERVING
(a snapshot is active and it is not shutting down), waiting up to --timeout-ms for it. Prints
SERVING and exits 0, or prints why not on stderr and exits 1: usable as a Kubernetes exec probe
where grpcurl is absent (give the probe a timeoutSeconds above --timeout-ms).

${remoteHelp('How long to wait for SERVING (default 1000).')}`;

/** `health`: exit 0 when the sidecar reports SERVING within --timeout-ms, else 1. */
export async function runHealth(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...REMOTE_CALL_OPTIONS, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const remote = remoteFromFlags(values, 1000, problems);
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);
  if (problems.length > 0) return usageError(io, problems, USAGE);
  const client = connect(remote, io, USAGE);
  if (typeof client === 'number') return client;
  try {
    await client.ready({ timeoutMs: remote.deadlineMs });
    io.stdout.write('SERVING\n');
    return EXIT.OK;
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
