// Section "client": the TypeScript client (src/client/) against the real server. Starts
// `serve` on a synthetic bundle (2,000 attachments) pinned to the server core, and runs
// bench/client-child.mjs in a fresh process pinned to the client core, which measures the cost of
// a cache hit (in-process), a miss (a round trip), and the hit rate on a skewed workload.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CLIENT_CORE, pinned } from './machine.mjs';
import { withServer } from './server.mjs';
import { syntheticBundleData, writeBundleFile } from './synthetic.mjs';

/** Attachments of the served bundle (answers of a realistic size; the client's costs do not depend on it). */
const ATTACHMENTS = 2000;

export async function runClient({ quick, serverFlags, logDir }) {
  const bundlePath = join(logDir, 'client-bundle.json');
  writeBundleFile(bundlePath, JSON.stringify(syntheticBundleData(ATTACHMENTS)));
  return withServer({ kind: 'pdp', flags: serverFlags, workload: { bundlePath }, extraArgs: ['--debounce-ms', '50'] }, async (server) => {
    const argv = pinned(CLIENT_CORE, [process.execPath, '--expose-gc', 'bench/client-child.mjs', server.address, bundlePath, quick ? 'quick' : 'full']);
    const out = await new Promise((resolve, reject) =>
      execFile(argv[0], argv.slice(1), { timeout: 300_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) =>
        err ? reject(new Error(`client-child failed: ${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    return { attachments: ATTACHMENTS, ...JSON.parse(out.trim().split('\n').at(-1)) };
  });
}
