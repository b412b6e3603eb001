import { execFile } from 'node:child_process';

/** The built binary, exactly as `npx guardrail-pdp` runs it (vitest's global setup builds it from the sources under test). */
export const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
/** The example bundle the README's quick start serves. */
export const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `guardrail-pdp ...args` to completion (logs silenced unless `env` says otherwise). */
export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, PDP_LOG_LEVEL: 'silent', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `guardrail-pdp ...args` with `stdin` as its standard input (logs silenced). */
export function cliWithStdin(args: readonly string[], stdin: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, PDP_LOG_LEVEL: 'silent' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}
