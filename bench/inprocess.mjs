// Section "inprocess": Resolve without gRPC at 100, 10,000 and 100,000 attachments, each size in
// a fresh process pinned to the server core (see inprocess-child.mjs for how time and bytes are
// measured).
import { execFile } from 'node:child_process';
import { SERVER_CORE, pinned } from './machine.mjs';

/** Bundle sizes, in attachments (policies are half as many). */
export const SIZES = [100, 10_000, 100_000];

const CHILD_FLAGS = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

/** Runs the in-process measurement for each size; `quick` times fewer calls. */
export async function runInprocess({ quick }) {
  const calls = quick ? 20_000 : 100_000;
  const rows = [];
  for (const attachments of SIZES) {
    const argv = pinned(SERVER_CORE, [process.execPath, ...CHILD_FLAGS, 'bench/inprocess-child.mjs', String(attachments), String(calls)]);
    const out = await new Promise((resolve, reject) =>
      execFile(argv[0], argv.slice(1), { timeout: 120_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) =>
        err ? reject(new Error(`inprocess-child ${attachments} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    rows.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
  return { calls, rows };
}
