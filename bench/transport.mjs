// Section "transport": Resolve over loopback TCP against a Unix socket, with the same client (Python
// grpcio, gRPC's C core: h2load cannot reach a socket), one call in flight, open loop at 500 calls
// per second, against our server and the bare grpc-js server, for a repeated request (memo hits)
// and for a new context each call (misses). Transports and servers alternate over `rounds`, so a
// noisy moment of a shared machine does not land on one of them only.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResolveRequest } from '../dist/gen/guardrail/pdp/v1/resolve.js';
import { CLIENT_CORE, pinned } from './machine.mjs';
import { withServer } from './server.mjs';
import { syntheticRequest } from './synthetic.mjs';

/** The Python that has grpcio (Debian's python3-grpcio). */
export const PYTHON = '/usr/bin/python3';
/** Calls per second, one in flight. */
export const RATE = 500;

/** Writes `count` request bodies (4-byte length, bytes) for transport-child.py; 'new' makes each a never-sent context. */
function writeBodies(path, attachments, traffic, count, nonce) {
  const parts = [];
  for (let k = 0; k < count; k++) {
    const r = syntheticRequest(attachments, traffic === 'new' ? k : 0);
    if (traffic === 'new') r.context.keyAlias = `${r.context.keyAlias}-${nonce}-${k}`;
    const body = Buffer.from(ResolveRequest.encode(r).finish());
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    parts.push(len, body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function runChild(target, bodiesPath, rate, seconds) {
  const argv = pinned(CLIENT_CORE, [PYTHON, 'bench/transport-child.py', target, bodiesPath, String(rate)]);
  return new Promise((resolve, reject) =>
    execFile(argv[0], argv.slice(1), { timeout: (seconds * 3 + 30) * 1000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`transport-child.py failed: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1))),
    ),
  );
}

/** Rows per round, server, transport and traffic: latency ms { p50, p90, p99, p999, max }, errors. */
export async function runTransport({ quick, serverFlags, workload, logDir }) {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${PYTHON} cannot import grpc (install: apt-get install -y python3-grpcio)`);
  }
  const seconds = quick ? 2 : 5;
  const rounds = quick ? 1 : 3;
  const count = RATE * seconds + 1;
  let nonce = 0;
  const rows = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of ['pdp', 'bare']) {
      for (const transport of round % 2 === 0 ? ['tcp', 'unix'] : ['unix', 'tcp']) {
        const listen = transport === 'unix' ? `unix://${join(logDir, `${kind}-${round}.sock`)}` : '127.0.0.1:0';
        await withServer({ kind, flags: serverFlags, workload, listen }, async (server) => {
          const target = server.address; // host:port or unix:///path, which grpcio takes as is
          const warm = join(logDir, 'warm.bin');
          writeBodies(warm, workload.attachments, 'new', RATE * 2, `warm${nonce++}`);
          await runChild(target, warm, RATE, 2);
          for (const traffic of ['repeat', 'new']) {
            const path = join(logDir, `bodies-${traffic}.bin`);
            writeBodies(path, workload.attachments, traffic, count, `run${nonce++}`);
            const r = await runChild(target, path, RATE, seconds);
            rows.push({ round, server: kind, transport, traffic, errors: r.errors, latencyMs: { count: r.count, p50: r.p50, p90: r.p90, p99: r.p99, p999: r.p999, max: r.max } });
          }
        });
      }
    }
  }
  // Medians over rounds of each figure, per server, transport and traffic.
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const summary = [];
  for (const server of ['pdp', 'bare'])
    for (const transport of ['tcp', 'unix'])
      for (const traffic of ['repeat', 'new']) {
        const rs = rows.filter((r) => r.server === server && r.transport === transport && r.traffic === traffic);
        summary.push({ server, transport, traffic, errors: rs.reduce((a, r) => a + r.errors, 0), ...Object.fromEntries(['p50', 'p90', 'p99', 'p999'].map((p) => [p, median(rs.map((r) => r.latencyMs[p]))])) });
      }
  return { rate: RATE, seconds, rounds, client: 'Python grpcio (C core), one call in flight', rows, summary };
}
