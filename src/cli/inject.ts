import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ANNOTATIONS, checkImage, defaultsWithImage, parseOverrides, PREFIX } from '../kube/annotations.js';
import { injectManifests, ManifestSyntaxError, type InjectedManifests } from '../kube/manifests.js';
import type { InjectSettings } from '../kube/plan.js';
import { WORKLOAD_KINDS } from '../kube/workloads.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';

/** The sidecar's defaults, as flags of `inject` and `injector`; each but --all and --classic-sidecar is also a per-pod annotation. */
export const SIDECAR_FLAGS = {
  image: { type: 'string' },
  'bundle-configmap': { type: 'string' },
  db: { type: 'string' },
  'db-volume': { type: 'string' },
  socket: { type: 'string' },
  'cpu-request': { type: 'string' },
  'memory-request': { type: 'string' },
  'memory-limit': { type: 'string' },
  'classic-sidecar': { type: 'boolean' },
  all: { type: 'boolean' },
} as const;

/** The flags' lines in the usage texts of `inject` and `injector`. */
export const SIDECAR_FLAGS_HELP = `  --image IMAGE               The guardrail-pdp image the sidecar runs (required).
  --bundle-configmap NAME     ConfigMap holding bundle.yaml (default guardrail-pdp-bundle).
  --db PATH [--db-volume V]   Serve a SQLite db at PATH from the pod's volume V (default policies-db) instead.
  --socket true|false         Decision API on unix:///var/run/guardrail-pdp/pdp.sock (true, the default) or 127.0.0.1:50051.
  --cpu-request Q --memory-request Q --memory-limit Q   Default 100m, 128Mi, 256Mi.
  --classic-sidecar           A regular container instead of a native sidecar (clusters before 1.29).
  --all                       Inject templates without a ${PREFIX}inject label or annotation too.
Each flag but --all and --classic-sidecar is also an annotation of the pod template, ${PREFIX}<flag>,
which wins for that template; "${PREFIX}inject": "false" opts a template out.
`;

const USAGE = `usage: guardrail-pdp inject [-f FILE | -] --image IMAGE [options]
Adds the guardrail-pdp sidecar to every pod template (${WORKLOAD_KINDS.join(', ')}) labelled or annotated
${PREFIX}inject: "true" in Kubernetes YAML read from FILE or stdin, and writes the YAML to stdout.
${SIDECAR_FLAGS_HELP}`;

type FlagValues = { [K in keyof typeof SIDECAR_FLAGS]?: (typeof SIDECAR_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/**
 * The injection settings from the sidecar flags, checked exactly as the annotations are (the flags
 * are the annotations' defaults); problems are pushed to `problems`.
 */
export function settingsFromFlags(values: FlagValues, problems: string[]): InjectSettings | undefined {
  const image = values.image ?? '';
  if (image === '') problems.push('--image IMAGE is required: the guardrail-pdp image the sidecar runs (e.g. registry.example.com/guardrail-pdp:0.1.0)');
  else if (checkImage(image) !== undefined) problems.push(`--image: ${checkImage(image)}`);
  const asAnnotations: Record<string, string> = {};
  for (const [flag, key] of [
    ['bundle-configmap', ANNOTATIONS.bundleConfigMap],
    ['db', ANNOTATIONS.db],
    ['db-volume', ANNOTATIONS.dbVolume],
    ['socket', ANNOTATIONS.socket],
    ['cpu-request', ANNOTATIONS.cpuRequest],
    ['memory-request', ANNOTATIONS.memoryRequest],
    ['memory-limit', ANNOTATIONS.memoryLimit],
  ] as const) {
    const value = values[flag];
    if (value !== undefined) asAnnotations[key] = value;
  }
  const defaults = { ...defaultsWithImage(image), native: values['classic-sidecar'] !== true };
  const parsed = parseOverrides(asAnnotations, defaults, (key) => `--${key.slice(PREFIX.length)}`);
  problems.push(...parsed.problems);
  return parsed.options === undefined || problems.length > 0 ? undefined : { defaults: parsed.options, all: values.all === true };
}

/**
 * `inject [-f FILE | -] --image IMAGE [options]`: writes the manifests with the sidecar added to
 * stdout and a summary to stderr. Exit 0 done (also when nothing asked for the sidecar); 1 a
 * template that asks for the sidecar cannot have it (every reason on stderr, nothing on stdout);
 * 2 bad usage, unreadable input or not YAML.
 */
export async function runInject(args: string[], io: CliIo, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...SIDECAR_FLAGS, filename: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, USAGE);
  const problems: string[] = [];
  const settings = settingsFromFlags(values, problems);
  const extra = positionals.filter((p) => p !== '-');
  if (extra.length > 0) problems.push(`unexpected argument '${extra[0]}' (the input is -f FILE, or stdin)`);
  if (values.filename !== undefined && positionals.includes('-')) problems.push("give -f FILE or '-', not both");
  if (problems.length > 0 || settings === undefined) return usageError(io, problems, USAGE);
  const file = values.filename ?? '-';
  const where = file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : await readFile(file, 'utf8');
  } catch (e) {
    io.stderr.write(`cannot read ${where}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return EXIT.UNREADABLE;
  }
  let result: InjectedManifests;
  try {
    result = injectManifests(text, settings);
  } catch (e) {
    if (!(e instanceof ManifestSyntaxError)) throw e;
    io.stderr.write(`${where}: ${e.message}\n`);
    return EXIT.UNREADABLE;
  }
  const refused = result.templates.filter((t) => t.plan.action === 'refuse');
  for (const t of refused) {
    if (t.plan.action === 'refuse') for (const reason of t.plan.reasons) io.stderr.write(`${where}: ${t.template}: cannot inject: ${reason}\n`);
  }
  if (refused.length > 0) {
    io.stderr.write(`guardrail-pdp inject: ${refused.length} pod template(s) cannot have the sidecar; nothing written\n`);
    return EXIT.INVALID;
  }
  io.stdout.write(result.text);
  const count = (action: string, why?: string): number =>
    result.templates.filter((t) => t.plan.action === action && (why === undefined || (t.plan.action === 'skip' && t.plan.why === why))).length;
  const notSelected = count('skip', 'not_selected');
  io.stderr.write(
    `guardrail-pdp inject: ${count('inject')} pod template(s) injected, ${count('skip', 'already_injected')} already injected, ` +
      `${notSelected} not selected${notSelected > 0 ? ` (label or annotate them ${PREFIX}inject: "true", or pass --all)` : ''}\n`,
  );
  return EXIT.OK;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
