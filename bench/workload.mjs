// The load tests' workload: a synthetic bundle file, pre-encoded ResolveRequests for the load
// generators, and the server's real answer to the first request (the bare server's canned answer,
// and what h2load's received bytes are checked against).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../dist/compile/compile.js';
import { resolve } from '../dist/engine/resolve.js';
import { ResolveRequest, ResolveResponse } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { toResolveRequest, toResolveResponse } from '../dist/server/convert/resolve.js';
import { createBundleFileSource } from '../dist/sources/bundle-file.js';
import { syntheticBundleData, syntheticRequest } from './synthetic.mjs';
import { finish } from '../dist/steps.js';

/** gRPC's length-prefixed message frame: flag 0 (uncompressed), 4-byte big-endian length, message. */
export function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/**
 * Writes into `dir`: `bundle.json` (`attachments` attachments, half as many policies),
 * `requests.json` (base64 ResolveRequests, for loadgen.py), `request.grpc` (request 0 as one gRPC
 * frame, for h2load) and `canned.bin` (the encoded ResolveResponse to request 0, as the real server
 * answers it). Returns the paths, the bundle text and the answer's frame length.
 */
export async function prepareWorkload(dir, attachments, requestCount = 256) {
  const bundlePath = join(dir, 'bundle.json');
  const bundleJson = JSON.stringify(syntheticBundleData(attachments));
  writeFileSync(bundlePath, bundleJson);
  const requests = Array.from({ length: requestCount }, (_, i) => syntheticRequest(attachments, i));
  const encoded = requests.map((r) => Buffer.from(ResolveRequest.encode(r).finish()));
  const requestsPath = join(dir, 'requests.json');
  writeFileSync(requestsPath, JSON.stringify(encoded.map((b) => b.toString('base64'))));
  const framePath = join(dir, 'request.grpc');
  writeFileSync(framePath, grpcFrame(encoded[0]));

  // Load and compile exactly as `serve --bundle` does, so the revision (and answer) are the same.
  const result = finish(compile(await createBundleFileSource({ path: bundlePath }).load(), { mode: 'strict' }));
  if (!result.ok) throw new Error(`synthetic bundle does not compile: ${result.issues[0]?.message}`);
  const answer = ResolveResponse.encode(toResolveResponse(resolve(result.snapshot, toResolveRequest(requests[0])))).finish();
  const cannedPath = join(dir, 'canned.bin');
  writeFileSync(cannedPath, answer);
  return { dir, bundlePath, bundleJson, requestsPath, framePath, cannedPath, answerFrameBytes: 5 + answer.length, policies: Object.keys(JSON.parse(bundleJson).policies).length, attachments };
}
