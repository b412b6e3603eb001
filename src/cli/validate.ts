import { parseArgs } from 'node:util';
import { createSource } from '../sources/create-source.js';
import { parseMode } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { loadAndCompile } from './load.js';
import { countIssues } from './report.js';

/**
 * `validate FILE [--mode strict|compat]`: prints every issue, then a summary.
 * Exit 0 valid (warnings allowed), 1 invalid, 2 unreadable or unparseable.
 */
export async function runValidate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { mode: { type: 'string' } }, allowPositionals: true });
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  if (positionals.length !== 1) problems.push('validate takes exactly one bundle file');
  if (problems.length > 0) {
    io.stderr.write(`${problems.join('\n')}\nusage: guardrail-pdp validate FILE [--mode strict|compat]\n`);
    return EXIT.USAGE;
  }
  const path = positionals[0] as string;
  const loaded = await loadAndCompile(createSource({ kind: 'bundle', path }), mode, io.stdout, io.stderr);
  if (!loaded.ok) return loaded.exitCode;
  const s = loaded.snapshot;
  io.stdout.write(
    `${path}: valid (${s.policies.size} policies, ${s.attachments.size} attachments, ${s.guardrails.size} guardrails; ` +
      `${countIssues(loaded.issues)}; mode ${mode}; revision ${s.revision})\n`,
  );
  return EXIT.OK;
}
