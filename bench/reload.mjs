// Reload benchmark (npm run bench): a real `serve` process with a 10,000-policy bundle, open-loop
// Resolve load from this process, and the bundle replaced (write + rename) several times.
// Reports the server's activation time, the time from the rename to the first answer from the new
// revision, and Resolve latency (from each call's scheduled send time) outside and during swaps.
// The load comes from a grpc-js client, which costs ~0.1 ms per call itself: good enough to see
// event-loop stalls of a swap, not to measure the sidecar's floor (the load harness does that).
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { DecisionServiceClient } from '../dist/gen/guardrail/pdp/v1/decision_service.js';

const POLICIES = 10_000;
const RATE = 1000; // requests per second
const SWAPS = 5;
const SWAP_EVERY_MS = 2000;
const WINDOW_MS = 1500; // a request scheduled within this long after a rename counts as "during swap"

function bundle(variant) {
  const guardrails = Array.from({ length: 50 }, (_, i) => ({ guardrail_name: `g${i}`, litellm_params: { guardrail: 'presidio', mode: 'pre_call' } }));
  const policies = {};
  for (let i = 0; i < POLICIES; i++)
    policies[`policy-${i}`] = {
      ...(i > 0 && i % 5 === 0 ? { inherit: `policy-${i - 1}` } : {}),
      guardrails: { add: [`g${(i + variant) % 50}`, `g${(i * 7) % 50}`] },
      ...(i % 10 === 0 ? { condition: { model: ['gpt-4.*', 'claude-3.*'] } } : {}),
    };
  const policy_attachments = [{ policy: 'policy-0', scope: '*' }];
  for (let i = 1; i < 2 * POLICIES; i++)
    policy_attachments.push(
      i % 3 === 0 ? { policy: `policy-${i % POLICIES}`, teams: [`team-${i}`] }
        : i % 3 === 1 ? { policy: `policy-${i % POLICIES}`, keys: [`key-${i}-*`] }
          : { policy: `policy-${i % POLICIES}`, tags: [`tag-${i}`], models: ['gpt-4*'] },
    );
  return JSON.stringify({ guardrails, policies, policy_attachments });
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const ms = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');

const dir = mkdtempSync(join(tmpdir(), 'pdp-reload-'));
const path = join(dir, 'bundle.json');
const variants = [bundle(0), bundle(1)];
writeFileSync(path, variants[0]);

const server = spawn(process.execPath, ['--enable-source-maps', 'dist/cli/main.js', 'serve', '--bundle', path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], {
  env: { ...process.env, PDP_LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const activations = [];
const address = await new Promise((resolve, reject) => {
  let buf = '';
  server.stdout.on('data', (chunk) => {
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec;
      try { rec = JSON.parse(line); } catch { continue; }
      if (rec.msg === 'decision API listening') resolve(rec.address);
      if (rec.msg === 'snapshot activated') activations.push({ at: performance.now(), durationMs: rec.durationMs, revision: rec.revision });
    }
  });
  server.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
});

const client = new DecisionServiceClient(address, credentials.createInsecure());
const samples = []; // { scheduled, latency, revision, error }
let stop = false;
const start = performance.now();
let sent = 0;
const tick = () => {
  if (stop) return;
  const due = Math.floor(((performance.now() - start) * RATE) / 1000);
  while (sent < due) {
    const scheduled = start + (sent * 1000) / RATE;
    const i = sent++;
    client.resolve(
      { context: { teamAlias: `team-${(i * 3) % (2 * POLICIES)}`, keyAlias: `key-${i % 999}-x`, model: 'gpt-4o', tags: [`tag-${i % 500}`] }, requestPolicies: [], keyPolicies: [], teamPolicies: [] },
      (err, res) => samples.push({ scheduled, latency: performance.now() - scheduled, revision: res?.revision, error: err?.code }),
    );
  }
  setImmediate(tick);
};
tick();

const sleep = (t) => new Promise((r) => setTimeout(r, t));
await sleep(2000); // warm-up and baseline
const swaps = [];
for (let s = 1; s <= SWAPS; s++) {
  const tmp = join(dir, `.bundle.${s}.tmp`);
  writeFileSync(tmp, variants[s % 2]);
  const before = activations.length;
  const at = performance.now();
  renameSync(tmp, path);
  swaps.push({ at, before });
  await sleep(SWAP_EVERY_MS);
}
stop = true;
await sleep(500);
client.close();
server.kill('SIGTERM');

const revisionsSeen = [];
for (const s of samples) if (s.revision && revisionsSeen.at(-1) !== s.revision) revisionsSeen.push(s.revision);
const swapRows = swaps.map((sw, i) => {
  const act = activations[sw.before];
  const firstNew = samples.filter((x) => x.scheduled >= sw.at && act && x.revision === act.revision).sort((a, b) => a.scheduled - b.scheduled)[0];
  return { swap: i + 1, activationMs: act?.durationMs, renameToNewAnswerMs: firstNew ? firstNew.scheduled + firstNew.latency - sw.at : NaN };
});
const inSwap = (x) => swaps.some((sw) => x.scheduled >= sw.at && x.scheduled < sw.at + WINDOW_MS);
const during = samples.filter(inSwap).map((x) => x.latency).sort((a, b) => a - b);
const steady = samples.filter((x) => !inSwap(x) && x.scheduled > start + 1000 && x.scheduled < swaps[0].at).map((x) => x.latency).sort((a, b) => a - b);
const errors = samples.filter((x) => x.error !== undefined).length;

const result = {
  machine: `${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
  policies: POLICIES, attachments: 2 * POLICIES, rate: RATE, swaps: swapRows, requests: samples.length, errors,
  steady: { p50: pct(steady, 50), p99: pct(steady, 99), max: steady.at(-1) },
  duringSwap: { p50: pct(during, 50), p99: pct(during, 99), p999: pct(during, 99.9), max: during.at(-1) },
};
console.log(`\nReload under load: ${POLICIES} policies / ${2 * POLICIES} attachments (JSON bundle), ${RATE} Resolve/s open loop, ${SWAPS} swaps by rename`);
console.log('swap  server activation (ms)  rename -> first new answer (ms)');
for (const r of swapRows) console.log(`${String(r.swap).padEnd(6)}${ms(r.activationMs).padEnd(24)}${ms(r.renameToNewAnswerMs)}`);
console.log(`Resolve latency, ms    p50     p99     p99.9   max`);
console.log(`steady              ${ms(result.steady.p50).padEnd(8)}${ms(result.steady.p99).padEnd(8)}-       ${ms(result.steady.max)}`);
console.log(`within 1.5 s of swap ${ms(result.duringSwap.p50).padEnd(8)}${ms(result.duringSwap.p99).padEnd(8)}${ms(result.duringSwap.p999).padEnd(8)}${ms(result.duringSwap.max)}`);
console.log(`requests ${samples.length}, errors ${errors}`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/reload.json', `${JSON.stringify(result, null, 2)}\n`);
