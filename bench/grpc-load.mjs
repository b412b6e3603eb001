// Runs bench/grpc-load-child.mjs (the load generator that can send a different request body per
// call, and reach a Unix socket) pinned to the client core, and returns its JSON line.
import { execFile } from 'node:child_process';
import { CLIENT_CORE, pinned } from './machine.mjs';

/**
 * `target`: host:port or unix:/path. `traffic`: 'new' (every call a context never sent before)
 * or 'repeat' (request 0 every time). Either `rate` (open loop) or `closed` (calls in flight).
 */
export function grpcLoad({ target, attachments, traffic, rate, closed, seconds, nonce }) {
  const args = ['bench/grpc-load-child.mjs', '--target', target, '--attachments', String(attachments), '--traffic', traffic, '--seconds', String(seconds)];
  if (rate !== undefined) args.push('--rate', String(Math.round(rate)));
  if (closed !== undefined) args.push('--closed', String(closed));
  if (nonce !== undefined) args.push('--nonce', String(nonce));
  const argv = pinned(CLIENT_CORE, [process.execPath, ...args]);
  return new Promise((resolve, reject) =>
    execFile(argv[0], argv.slice(1), { timeout: (seconds * 4 + 60) * 1000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`grpc-load-child failed: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1))),
    ),
  );
}
