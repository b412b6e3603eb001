// Section "review": how long the policy review commands take on CI-sized inputs, as CI runs them
// (the built CLI in a child process, wall clock, loading and compiling both sides included):
//   - `diff` of a 10,000-policy set (bench/synthetic.mjs, 20,000 attachments) against a copy with
//     60 edits (attachments removed and added, policies losing a guardrail), and against a
//     different 10,000-policy set (another seed: every policy differs);
//   - `impact` of the 10,000-policy set over 100,000 keys (JSON lines), alone and `--against` the
//     other set.
// Also runnable alone: `node bench/review.mjs [--quick]` (after `npm run build`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticBundleData } from './synthetic.mjs';

const ATTACHMENTS = 20_000;
const KEYS = 100_000;

/** The synthetic set with `n` edits of each kind: attachments removed, attachments added, policies losing their first guardrail. */
export function editedBundleData(data, n) {
  const copy = structuredClone(data);
  copy.policy_attachments.splice(1, n);
  for (let i = 0; i < n; i++) copy.policy_attachments.push({ policy: `p${i * 7 + 1}`, teams: [`new-team-${i}`] });
  const names = Object.keys(copy.policies);
  for (let i = 0; i < n; i++) {
    const p = copy.policies[names[(i * 997) % names.length]];
    p.guardrails.add = p.guardrails.add.slice(1);
  }
  return copy;
}

/** `count` keys as JSON lines: teams, key aliases (some unnamed), tags and models in the synthetic bundle's vocabulary. */
export function inventoryLines(count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const key = i % 50 === 0 ? null : `key-${(i * 104729) % ATTACHMENTS}-k${i}`;
    const models = i % 3 === 0 ? [] : i % 3 === 1 ? ['gpt-4o'] : ['gpt-4o', `model-${i % 1000}`];
    lines.push(JSON.stringify({ key_alias: key, team_alias: `team-${(i * 7919) % ATTACHMENTS}`, tags: i % 4 === 0 ? [`tag-${i % ATTACHMENTS}`] : [], models, policies: i % 10 === 0 ? [`p${i % 5000}`] : [] }));
  }
  return `${lines.join('\n')}\n`;
}

function timeCli(args, runs) {
  const seconds = [];
  const inventoryMs = [];
  let exitCode = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    try {
      const out = execFileSync(process.execPath, ['dist/cli/main.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 }).toString();
      // impact --json reports the time of its inventory phase (read, resolve, count), after the policy sets are compiled.
      if (args[0] === 'impact') inventoryMs.push(JSON.parse(out).inventory_ms);
    } catch (e) {
      exitCode = e.status ?? -1;
      if (exitCode !== 1) throw new Error(`guardrail-pdp ${args.join(' ')} failed (${exitCode}): ${e.stderr}`);
    }
    seconds.push((performance.now() - t) / 1000);
  }
  seconds.sort((a, b) => a - b);
  inventoryMs.sort((a, b) => a - b);
  const inventory = inventoryMs.length === 0 ? {} : { inventoryMs: { median: inventoryMs[Math.floor(inventoryMs.length / 2)], min: inventoryMs[0], max: inventoryMs[inventoryMs.length - 1] } };
  return { median: seconds[Math.floor(seconds.length / 2)], min: seconds[0], max: seconds[seconds.length - 1], runs, exitCode, ...inventory };
}

/** Runs the section; `ctx.quick`: one run each instead of three. */
export async function runReview(ctx = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pdp-bench-review-'));
  try {
    const runs = ctx.quick ? 1 : 3;
    const base = syntheticBundleData(ATTACHMENTS);
    const files = {
      base: join(dir, 'base.json'),
      edited: join(dir, 'edited.json'),
      other: join(dir, 'other.json'),
      inventory: join(dir, 'keys.jsonl'),
    };
    writeFileSync(files.base, JSON.stringify(base));
    writeFileSync(files.edited, JSON.stringify(editedBundleData(base, 20)));
    writeFileSync(files.other, JSON.stringify(syntheticBundleData(ATTACHMENTS, 1)));
    writeFileSync(files.inventory, inventoryLines(KEYS));
    const rows = [];
    const measure = (name, args) => rows.push({ name, command: `guardrail-pdp ${args.join(' ')}`, ...timeCli(args, runs) });
    // The load and compile of one side alone, for scale.
    measure('validate one 10,000-policy set', ['validate', files.base]);
    measure('diff, 60 edits', ['diff', files.base, files.edited, '--json']);
    measure('diff, another 10,000-policy set', ['diff', files.base, files.other, '--json']);
    measure('impact, 100,000 keys', ['impact', files.base, '--inventory', files.inventory, '--json']);
    measure('impact --against another set, 100,000 keys', ['impact', files.base, '--against', files.other, '--inventory', files.inventory, '--json']);
    const stats = JSON.parse(execFileSync(process.execPath, ['dist/cli/main.js', 'diff', files.base, files.edited, '--json'], { maxBuffer: 1 << 30 }).toString().replace(/^[^{]*/, ''));
    return { policies: Object.keys(base.policies).length, attachments: ATTACHMENTS, keys: KEYS, diffCells: stats.cells, diffWitnesses: stats.witnesses, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const result = await runReview({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
