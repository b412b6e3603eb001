import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PdpError } from '../errors.js';
import type { ResolveRequest as PbResolveRequest } from '../gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest } from '../server/convert/resolve.js';
import { isContextJson, resolveRequestFromJson } from './request-json.js';
import { createSource, type SourceConfig } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { COMPILE_FLAGS, compileSettings, loadAndCompile } from './load.js';
import { resolveOffline } from './offline.js';
import { connect, isRemote, offlineSource, REMOTE_CALL_OPTIONS, REMOTE_USAGE, remoteFromFlags, remoteHelp, reportCallError } from './remote.js';
import { ResolveResponse } from '../gen/guardrail/pdp/v1/resolve.js';
import type { PdpClientError } from '../client/index.js';

const USAGE =
  'usage: guardrail-pdp resolve (--bundle FILE | --db FILE.db) [--mode strict|compat] (--context JSON | --contexts FILE.jsonl)\n' +
  '         [--request-policy NAME]... [--key-policy NAME]... [--team-policy NAME]...\n' +
  '         [--require-executable] [--content-filter-categories DIR]\n' +
  `       guardrail-pdp resolve ${REMOTE_USAGE} [--timeout-ms MS]\n` +
  '         (--context JSON | --contexts FILE.jsonl) [--request-policy NAME]... [--key-policy NAME]... [--team-policy NAME]...\n';

const HELP = `${USAGE}
Answers Resolve and prints the ResolveResponse as proto3 JSON (as grpcurl prints it): offline from a
bundle file or db, or from a running sidecar. One object for --context, one line per input line for
--contexts. A JSONL line is a RequestContext ({"team_alias": ..., "model": ...}) or a whole
ResolveRequest ({"context": {...}, "request_policies": [...]}); unknown fields are errors. The
policy flags are added to every request. Offline, --require-executable and
--content-filter-categories DIR mean what they mean for serve (docs/cli.md).

Exit 0 answered, 1 bundle invalid, 2 bad input or unreadable bundle, 3 the sidecar did not answer.

${remoteHelp('Deadline of each Resolve call (default 5000).')}`;

/**
 * `resolve`: answers Resolve offline for a bundle file or a db, or asks a running sidecar
 * (`--server`/`--socket`, through src/client/), and prints the ResolveResponse as proto3 JSON (what
 * grpcurl prints): one pretty object for `--context`, one line per input line for `--contexts`. A
 * JSONL line is a RequestContext or a whole ResolveRequest; the policy flags are added to every request.
 */
export async function runResolve(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      bundle: { type: 'string' },
      db: { type: 'string' },
      mode: { type: 'string' },
      context: { type: 'string' },
      contexts: { type: 'string' },
      'request-policy': { type: 'string', multiple: true, default: [] },
      'key-policy': { type: 'string', multiple: true, default: [] },
      'team-policy': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
      ...REMOTE_CALL_OPTIONS,
      ...COMPILE_FLAGS,
    },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const remote = isRemote(values) ? remoteFromFlags(values, 5000, problems) : undefined;
  const offlineOnly = [values.bundle, values.db, values.mode, values['require-executable'], values['content-filter-categories']];
  if (remote !== undefined && offlineOnly.some((v) => v !== undefined))
    problems.push('--bundle, --db, --mode and the compile flags are for answering offline: leave them out with --server or --socket');
  const sourceConfig = remote === undefined ? offlineSource(values, problems) : undefined;
  if ((values.context === undefined) === (values.contexts === undefined)) problems.push('give exactly one of --context or --contexts');
  if (positionals.length > 0) problems.push(`unexpected argument '${positionals[0]}'`);
  let requests: Located[] = [];
  if (problems.length === 0) {
    try {
      requests =
        values.context !== undefined
          ? [{ pb: parseLine(values.context, '--context'), where: '--context' }]
          : await readJsonl(values.contexts as string);
    } catch (e) {
      problems.push(PdpError.from(e).message);
    }
  }
  if (problems.length > 0) return usageError(io, problems, USAGE);

  const extra = { request: values['request-policy'], key: values['key-policy'], team: values['team-policy'] };
  const pretty = values.context !== undefined;
  if (remote !== undefined) {
    const client = connect(remote, io, USAGE);
    if (typeof client === 'number') return client;
    try {
      const outputs: string[] = [];
      for (const { pb, where } of requests) {
        addPolicies(pb, extra);
        try {
          outputs.push(format(ResolveResponse.toJSON(await client.resolve(pb)), pretty));
        } catch (e) {
          return reportCallError(e as PdpClientError, where, io);
        }
      }
      io.stdout.write(outputs.map((o) => `${o}\n`).join(''));
      return EXIT.OK;
    } finally {
      client.close();
    }
  }

  const settings = compileSettings(values, io.env);
  const source = createSource(sourceConfig as SourceConfig, { contentFilterCategoriesDir: settings.contentFilterCategoriesDir });
  // The answers go to stdout, so the issues go to stderr.
  const loaded = await loadAndCompile(source, mode, io.stderr, io.stderr, '', undefined, settings);
  if (!loaded.ok) return loaded.exitCode;
  const { snapshot } = loaded;

  const outputs: string[] = [];
  for (const { pb, where } of requests) {
    addPolicies(pb, extra);
    try {
      outputs.push(format(resolveOffline(snapshot, toResolveRequest(pb)), pretty));
    } catch (e) {
      io.stderr.write(`${where}: ${PdpError.from(e).message}\n`);
      return EXIT.USAGE;
    }
  }
  io.stdout.write(outputs.map((o) => `${o}\n`).join(''));
  return EXIT.OK;
}

/** One answer: pretty for --context, one line for --contexts. */
function format(json: unknown, pretty: boolean): string {
  return pretty ? JSON.stringify(json, null, 2) : JSON.stringify(json);
}

function addPolicies(pb: PbResolveRequest, extra: { readonly request: string[]; readonly key: string[]; readonly team: string[] }): void {
  pb.requestPolicies.push(...extra.request);
  pb.keyPolicies.push(...extra.key);
  pb.teamPolicies.push(...extra.team);
}

function parseLine(text: string, where: string): PbResolveRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PdpError('INVALID_REQUEST', `${where} is not valid JSON: ${(e as Error).message}`);
  }
  return resolveRequestFromJson(isContextJson(json) ? { context: json } : json, where);
}

interface Located {
  readonly pb: PbResolveRequest;
  readonly where: string;
}

async function readJsonl(path: string): Promise<Located[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PdpError('INVALID_REQUEST', `cannot read --contexts ${path}: ${(e as Error).message}`);
  }
  const out: Located[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `${path}:${i + 1}`;
    if (line.trim() !== '') out.push({ pb: parseLine(line, where), where });
  });
  return out;
}
