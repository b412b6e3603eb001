// Section "pipeline": in-process ExecutePipeline for a three-step built-in pipeline over a 2 KB
// prompt, in a fresh process pinned to the server core (see pipeline-child.mjs).
import { execFile } from 'node:child_process';
import { SERVER_CORE, pinned } from './machine.mjs';
import { splitFlags } from './server.mjs';

/** Runs the measurement under the server's own node flags; `quick` times fewer calls. */
export async function runPipeline({ quick, serverFlags }) {
  const calls = quick ? 10_000 : 50_000;
  const argv = pinned(SERVER_CORE, [process.execPath, ...splitFlags(serverFlags), 'bench/pipeline-child.mjs', String(calls)]);
  const out = await new Promise((resolve, reject) =>
    execFile(argv[0], argv.slice(1), { timeout: 120_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`pipeline-child failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  return JSON.parse(out.trim().split('\n').at(-1));
}
