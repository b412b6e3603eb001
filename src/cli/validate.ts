import { parseArgs } from 'node:util';
import { compile } from '../compile/compile.js';
import { PdpError } from '../errors.js';
import { createYamlBundleSource } from '../sources/yaml-bundle.js';
import { parseMode } from './config.js';
import { EXIT, type CliIo } from './io.js';
import { countIssues, formatIssue } from './report.js';

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
  let bundle;
  try {
    bundle = await createYamlBundleSource({ path }).load();
  } catch (e) {
    const err = PdpError.from(e);
    for (const issue of err.issues) io.stdout.write(`${formatIssue(issue)}\n`);
    io.stderr.write(`${err.message}\n`);
    return EXIT.UNREADABLE;
  }
  const result = compile(bundle, { mode });
  for (const issue of result.issues) io.stdout.write(`${formatIssue(issue)}\n`);
  if (!result.ok) {
    io.stdout.write(`${path}: invalid (${countIssues(result.issues)}; mode ${mode})\n`);
    return EXIT.INVALID;
  }
  const s = result.snapshot;
  io.stdout.write(
    `${path}: valid (${s.policies.size} policies, ${s.attachments.size} attachments, ${s.guardrails.size} guardrails; ` +
      `${countIssues(result.issues)}; mode ${mode}; revision ${s.revision})\n`,
  );
  return EXIT.OK;
}
