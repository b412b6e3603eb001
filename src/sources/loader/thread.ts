// The loader thread's entry point (see caller.ts): runs one LoadRequest, posts one LoadReply,
// and is ended. Everything here is the sources' own synchronous parsing and reading.
import { dirname } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { BundleFile } from '../../model/bundle.js';
import { combinedHash, readReferencedFiles } from '../referenced-files.js';
import { PdpError } from '../../errors.js';
import { partsOf, partsTransferList, type BundleParts } from './bundle-parts.js';
import type { LoadReply, LoadRequest } from './caller.js';

// Each kind imports only its own reader: a thread that parses YAML need not load SQLite, and back.
async function load(request: LoadRequest): Promise<BundleParts> {
  if (request.kind === 'db') {
    const { readDbBundleData } = await import('../sqlite/sqlite-read.js');
    const { data, hash } = readDbBundleData(request.path);
    const files = await readFiles(data, request.path, request);
    return partsOf(request.path, combinedHash(hash, files), data, undefined, files);
  }
  const { parseBundleBytes } = await import('../document/bundle-text.js');
  const document = parseBundleBytes(request.bytes, request.origin);
  const files = await readFiles(document.data, request.origin, request);
  return partsOf(request.origin, combinedHash(request.hash, files), document.data, document, files);
}

/** The files the bundle at `origin` names, read relative to its directory. */
function readFiles(data: unknown, origin: string, request: LoadRequest): Promise<Map<string, BundleFile>> {
  return readReferencedFiles(data, { baseDir: dirname(origin), ...request.files });
}

/** Runs the one request this thread gets and posts its one reply. */
async function run(request: LoadRequest): Promise<void> {
  let reply: LoadReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const parts = await load(request);
    reply = { ok: true, parts };
    transfer = partsTransferList(parts);
  } catch (e) {
    const error = PdpError.from(e);
    const cause = error.cause instanceof Error ? error.cause : undefined;
    reply = {
      ok: false,
      code: error.code,
      message: error.message,
      issues: error.issues,
      cause: cause && { name: cause.name, message: cause.message, stack: cause.stack, code: (cause as { code?: unknown }).code },
    };
  }
  parentPort?.postMessage(reply, transfer);
}

// The request comes as a message, not as workerData: a thread may be started before its load is
// known (Loader.prepare), with its modules loaded by the time the request arrives.
parentPort?.once('message', (request: LoadRequest) => void run(request));
