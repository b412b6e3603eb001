import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PdpError } from '../errors.js';
import { HttpPool } from '../guardrails/generic-api/http-pool.js';
import type { ExecutePipelineRequest as PbExecutePipelineRequest } from '../gen/guardrail/pdp/v1/pipeline.js';
import { toPipelineRequest } from '../server/convert/pipeline.js';
import { executePipelineRequestFromJson } from './request-json.js';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { COMPILE_FLAGS, compileSettings, loadAndCompile } from './load.js';
import { executePipelineOffline, reportCheckErrors } from './offline.js';
import { connect, isRemote, offlineSource, REMOTE_CALL_OPTIONS, REMOTE_USAGE, remoteFromFlags, remoteHelp, reportCallError } from './remote.js';
import { ExecutePipelineResponse } from '../gen/guardrail/pdp/v1/pipeline.js';
import type { PdpClientError } from '../client/index.js';
import type { SourceConfig } from '../sources/create-source.js';

const USAGE =
  'usage: guardrail-pdp pipeline (--bundle FILE | --db FILE.db) --policy NAME [--mode strict|compat] --input (JSON | @FILE | -)\n' +
  '         [--require-executable] [--content-filter-categories DIR]\n' +
  `       guardrail-pdp pipeline ${REMOTE_USAGE} [--timeout-ms MS]\n         --policy NAME --input (JSON | @FILE | -)\n` +
  '         --input holds the ExecutePipelineRequest in proto3 JSON, e.g. {"messages":[{"role":"user","content":"hi"}]};\n' +
  '         @FILE reads it from a file, - from stdin. Without --policy, the input names policy_name or an inline pipeline.\n';

const HELP = `${USAGE}
Runs a policy's pipeline, as ExecutePipeline does, and prints the ExecutePipelineResponse as proto3
JSON (as grpcurl prints it): offline from a bundle file or db (no deadline; step timeouts apply; HTTP
guardrails are called), or by a running sidecar. --input is snake_case or lowerCamelCase proto3
JSON; unknown fields are errors.

Exit 0 answered (a block too), 1 bundle invalid, 2 bad input, unknown policy or unreadable bundle,
3 the sidecar did not answer.

${remoteHelp('Deadline of the ExecutePipeline call (default 30000).')}`;

/**
 * `pipeline`: runs a policy's pipeline offline, exactly as ExecutePipeline would (no deadline;
 * step timeouts apply), or by a running sidecar (`--server`/`--socket`), and prints the
 * ExecutePipelineResponse as proto3 JSON (what grpcurl prints). Offline, HTTP guardrails use an
 * HTTP pool owned by this command and closed before it returns. Exit 0 answered (a block is an
 * answer), 1 invalid bundle, 2 unreadable bundle or bad request, 3 the sidecar did not answer.
 */
export async function runPipeline(args: string[], io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      bundle: { type: 'string' },
      db: { type: 'string' },
      mode: { type: 'string' },
      policy: { type: 'string' },
      input: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...REMOTE_CALL_OPTIONS,
      ...COMPILE_FLAGS,
    },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const remote = isRemote(values) ? remoteFromFlags(values, 30_000, problems) : undefined;
  const offlineOnly = [values.bundle, values.db, values.mode, values['require-executable'], values['content-filter-categories']];
  if (remote !== undefined && offlineOnly.some((v) => v !== undefined))
    problems.push('--bundle, --db, --mode and the compile flags are for running offline: leave them out with --server or --socket');
  const sourceConfig = remote === undefined ? offlineSource(values, problems) : undefined;
  if (values.input === undefined) problems.push('give --input');
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);
  let pb: PbExecutePipelineRequest | undefined;
  if (problems.length === 0) {
    try {
      pb = await readRequest(values.input as string, stdin);
      const hasTarget = pb.policyName !== undefined || pb.pipeline !== undefined;
      if (values.policy !== undefined && hasTarget) problems.push('--input names policy_name or pipeline: leave it out when giving --policy');
      if (values.policy === undefined && !hasTarget) problems.push('give --policy NAME (or policy_name or pipeline in --input)');
      if (values.policy !== undefined) pb.policyName = values.policy;
    } catch (e) {
      problems.push(PdpError.from(e).message);
    }
  }
  if (problems.length > 0 || pb === undefined) return usageError(io, problems, USAGE);

  if (remote !== undefined) {
    const client = connect(remote, io, USAGE);
    if (typeof client === 'number') return client;
    try {
      const answer = await client.executePipeline(pb);
      io.stdout.write(`${JSON.stringify(ExecutePipelineResponse.toJSON(answer), null, 2)}\n`);
      return EXIT.OK;
    } catch (e) {
      return reportCallError(e as PdpClientError, '--input', io);
    } finally {
      client.close();
    }
  }

  const settings = compileSettings(values, io.env);
  const source = createSource(sourceConfig as SourceConfig, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir });
  const httpPool = new HttpPool();
  try {
    // The answer goes to stdout, so the issues go to stderr.
    // An HttpPool is a GuardrailEnv: its dispatcher getter creates the pool only if a guardrail needs it.
    const loaded = await loadAndCompile(source, mode, io.stderr, io.stderr, '', httpPool, settings);
    if (!loaded.ok) return loaded.exitCode;
    const { snapshot } = loaded;
    try {
      const answer = await executePipelineOffline(snapshot, toPipelineRequest(pb), reportCheckErrors(io.stderr));
      io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return EXIT.OK;
    } catch (e) {
      io.stderr.write(`--input: ${PdpError.from(e).message}\n`);
      return EXIT.USAGE;
    }
  } finally {
    await httpPool.close().catch(() => undefined);
  }
}

async function readRequest(input: string, stdin: NodeJS.ReadableStream): Promise<PbExecutePipelineRequest> {
  let text: string;
  let where = '--input';
  if (input === '-') {
    where = '--input (stdin)';
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else if (input.startsWith('@')) {
    where = `--input ${input}`;
    try {
      text = await readFile(input.slice(1), 'utf8');
    } catch (e) {
      throw new PdpError('INVALID_REQUEST', `cannot read ${where}: ${(e as Error).message}`);
    }
  } else text = input;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // V8 quotes the input in some of these messages, and the input is prompt text: keep the position only.
    const position = /at position (\d+)/.exec((e as Error).message)?.[1];
    throw new PdpError('INVALID_REQUEST', `${where} is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`);
  }
  return executePipelineRequestFromJson(json, where);
}
