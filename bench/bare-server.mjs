// The ceiling: a bare grpc-js server for the same DecisionService (same generated code, same proto)
// whose Resolve returns a canned ResolveResponse, decoded once and encoded again on every call as
// the real server's answer is. What the real server costs beyond this is our own work: decoding
// and checking the request, resolving, building the answer.
//   node [v8 flags] bench/bare-server.mjs --canned FILE [--listen 127.0.0.1:0 | unix:/path]
// Prints one JSON line {"msg":"decision API listening","address":...}, as `serve` does.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { DecisionServiceService } from '../dist/gen/guardrail/pdp/v1/decision_service.js';
import { ResolveResponse } from '../dist/gen/guardrail/pdp/v1/resolve.js';

const { values } = parseArgs({ options: { canned: { type: 'string' }, listen: { type: 'string', default: '127.0.0.1:0' } } });
if (values.canned === undefined) {
  process.stderr.write('usage: bare-server.mjs --canned FILE [--listen HOST:PORT]\n');
  process.exit(2);
}
const answer = ResolveResponse.decode(readFileSync(values.canned));
const unimplemented = (_call, callback) => callback({ code: status.UNIMPLEMENTED, details: 'bare benchmark server' });

// Same receive limit as the real server, so both parse requests under the same settings.
const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(DecisionServiceService, {
  resolve: (_call, callback) => callback(null, answer),
  executePipeline: unimplemented,
  watch: (call) => call.end(),
});
server.bindAsync(values.listen, ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare-server: cannot listen on ${values.listen}: ${err.message}\n`);
    process.exit(1);
  }
  const host = values.listen.slice(0, values.listen.lastIndexOf(':'));
  const address = values.listen.startsWith('unix:') ? values.listen : `${host}:${port}`;
  process.stdout.write(`${JSON.stringify({ msg: 'decision API listening', address })}\n`);
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
