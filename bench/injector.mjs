// Section "injector": the sidecar injector's latency per AdmissionReview, as the API server sees
// it. The real `guardrail-pdp injector` runs on the server core (its own process, the server
// flags, logging at info as deployed) with the test TLS certificate; this process sends the
// review of test/fixtures/kube/review-deployment-pod.json (a Deployment's pod as the API server
// sends it; each with its own uid) over HTTPS and times each answer, send to last byte:
//   - sequential on one keep-alive connection (how the API server calls a webhook),
//   - 8 in flight over up to 8 keep-alive connections,
//   - a new TLS connection per review (the handshake included: a cold API server connection).
// Plus `reviewAdmission` alone in this process (parse excluded), the work per review, and the
// injector's own histogram for the sequential run (arrival to answer, TLS and scheduling on the
// client's side excluded).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { reviewAdmission } from '../dist/kube/admission.js';
import { DEFAULT_SIDECAR } from '../dist/kube/sidecar.js';
import { SERVER_CORE, pinned } from './machine.mjs';
import { splitFlags } from './server.mjs';
import { percentile, round, summarize } from './stats.mjs';

const TLS = 'test/fixtures/tls';
const REVIEW = JSON.parse(readFileSync('test/fixtures/kube/review-deployment-pod.json', 'utf8'));
const IMAGE = 'registry.example.com/guardrail-pdp:0.1.0';
const CA = readFileSync(`${TLS}/ca.pem`);

/** The review with the nth uid, as the JSON the API server posts. */
function body(n) {
  return JSON.stringify({ ...REVIEW, request: { ...REVIEW.request, uid: `bench-${n}` } });
}

function startInjector(serverFlags) {
  const args = [process.execPath, ...splitFlags(serverFlags), 'dist/cli/main.js', 'injector', '--tls-cert', `${TLS}/server.pem`, '--tls-key', `${TLS}/server.key`,
    '--image', IMAGE, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'info'];
  const [cmd, ...rest] = pinned(SERVER_CORE, args);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PDP_')));
  const child = spawn(cmd, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  let stderr = '';
  child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
  let address;
  let admin;
  const listening = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"admin HTTP listening"')) admin = JSON.parse(line).address;
        if (line.includes('"injector listening"')) address = JSON.parse(line).address;
        if (address !== undefined && admin !== undefined) resolve({ address, admin });
      }
    });
    exited.then((code) => reject(new Error(`injector exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    listening,
    pid: () => child.pid,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One review: resolves to ms from send to the last byte of a 200 answer with a patch. */
function post(address, agent, n) {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const payload = body(n);
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const req = request(
      { host: '127.0.0.1', port, servername: 'localhost', ca: CA, method: 'POST', path: '/mutate', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t;
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200 || !text.includes('"patchType":"JSONPatch"')) reject(new Error(`review ${n}: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve(ms);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `count` reviews, `inFlight` at a time; `agent` false for a new connection each. */
async function run(address, { count, inFlight, agent }) {
  const times = [];
  let next = 0;
  const worker = async () => {
    while (next < count) times.push(await post(address, agent, next++));
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - t) / 1000;
  return { count, inFlight, reviewsPerSec: round(count / seconds, 0), latencyMs: summarize(times, 3) };
}

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 0) : null;
  } catch {
    return null;
  }
}

/**
 * The injector's own view: reviews answered within 1 ms and 5 ms of arriving, by its
 * pdp_injector_review_duration_seconds histogram, as counts since `before` (undefined: absolute).
 */
async function serverSide(admin, before) {
  const text = await fetch(`http://${admin}/metrics`).then((r) => r.text());
  const read = (le) => Number(new RegExp(`^pdp_injector_review_duration_seconds_bucket\\{le="${le}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const now = { within1ms: read('0.001'), within5ms: read('0.005'), count: read('\\+Inf') };
  if (before === undefined) return now;
  return { within1ms: now.within1ms - before.within1ms, within5ms: now.within5ms - before.within5ms, count: now.count - before.count };
}

/** Runs the section; `quick` sends fewer reviews. */
export async function runInjector({ quick, serverFlags }) {
  const n = quick ? 1000 : 10_000;
  const settings = { defaults: { ...DEFAULT_SIDECAR, image: IMAGE }, all: false };
  const inprocessUs = [];
  for (let i = 0; i < 2 * n; i++) {
    const review = JSON.parse(body(i));
    const t = performance.now();
    reviewAdmission(review, settings);
    if (i >= n) inprocessUs.push((performance.now() - t) * 1000);
  }
  inprocessUs.sort((a, b) => a - b);

  const injector = startInjector(serverFlags);
  try {
    const { address, admin } = await injector.listening;
    const keepAlive = (sockets) => new Agent({ keepAlive: true, maxSockets: sockets });
    const warm = keepAlive(1);
    await run(address, { count: quick ? 200 : 1000, inFlight: 1, agent: warm });
    const before = await serverSide(admin);
    const sequential = { ...(await run(address, { count: n, inFlight: 1, agent: warm })), server: await serverSide(admin, before) };
    warm.destroy();
    const eight = keepAlive(8);
    const concurrent = await run(address, { count: n, inFlight: 8, agent: eight });
    eight.destroy();
    const newConnection = await run(address, { count: quick ? 200 : 1000, inFlight: 1, agent: false });
    return {
      reviewBytes: Buffer.byteLength(body(0)),
      inprocess: { medianUs: round(percentile(inprocessUs, 50), 1), p99Us: round(percentile(inprocessUs, 99), 1) },
      sequential,
      concurrent,
      newConnection,
      rssMb: rssMb(injector.pid()),
    };
  } finally {
    await injector.stop();
  }
}
