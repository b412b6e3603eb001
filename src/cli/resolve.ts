import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { resolve } from '../engine/resolve.js';
import { PdpError } from '../errors.js';
import type { ResolveRequest as PbResolveRequest } from '../gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest, toResolveResponseJson } from '../server/convert/resolve.js';
import { isContextJson, resolveRequestFromJson } from './request-json.js';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { loadAndCompile, sourceFromFlags } from './load.js';

const USAGE =
  'usage: guardrail-pdp resolve (--bundle FILE | --db FILE.db) [--mode strict|compat] (--context JSON | --contexts FILE.jsonl)\n' +
  '         [--request-policy NAME]... [--key-policy NAME]... [--team-policy NAME]...\n';

/**
 * `resolve`: answers Resolve offline for a bundle file or a db and prints the ResolveResponse as
 * proto3 JSON (what grpcurl prints): one pretty object for `--context`, one line per input line for
 * `--contexts`. A JSONL line is a RequestContext or a whole ResolveRequest; the policy flags are
 * added to every request.
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
    },
    allowPositionals: true,
  });
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const sourceConfig = sourceFromFlags(values, problems);
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
  if (problems.length > 0) {
    io.stderr.write(`${problems.join('\n')}\n${USAGE}`);
    return EXIT.USAGE;
  }

  const source = createSource(sourceConfig);
  // The answers go to stdout, so the issues go to stderr.
  const loaded = await loadAndCompile(source, mode, io.stderr, io.stderr);
  if (!loaded.ok) return loaded.exitCode;
  const { snapshot } = loaded;

  const outputs: string[] = [];
  for (const { pb, where } of requests) {
    pb.requestPolicies.push(...values['request-policy']);
    pb.keyPolicies.push(...values['key-policy']);
    pb.teamPolicies.push(...values['team-policy']);
    try {
      const json = toResolveResponseJson(resolve(snapshot, toResolveRequest(pb)));
      outputs.push(values.context !== undefined ? JSON.stringify(json, null, 2) : JSON.stringify(json));
    } catch (e) {
      io.stderr.write(`${where}: ${PdpError.from(e).message}\n`);
      return EXIT.USAGE;
    }
  }
  io.stdout.write(outputs.map((o) => `${o}\n`).join(''));
  return EXIT.OK;
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
