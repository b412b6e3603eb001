// `npm run bench` (= npm run build && node bench/run.mjs [options]): runs the benchmark sections,
// prints a table and writes bench/results/<timestamp>.json and bench/results/latest.json.
// It builds nothing itself: it measures dist/ as built.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runClient } from './client.mjs';
import { runInjector } from './injector.mjs';
import { runInprocess } from './inprocess.mjs';
import { runPipeline } from './pipeline.mjs';
import { runLatency } from './latency.mjs';
import { runMisses } from './misses.mjs';
import { runTransport } from './transport.mjs';
import { describeMachine, pinSelf } from './machine.mjs';
import { runOverload } from './overload.mjs';
import { runReload } from './reload-load.mjs';
import { runReview } from './review.mjs';
import { printTable, writeResults } from './table.mjs';
import { runThroughput } from './throughput.mjs';
import { checkTools, installCommand, installTools } from './tools.mjs';
import { runV8Flags } from './v8flags.mjs';
import { prepareWorkload } from './workload.mjs';

/** Sections in run order; `load` ones need h2load and the 10,000-policy workload. */
const SECTIONS = [
  { name: 'inprocess', load: false, run: (ctx) => runInprocess(ctx) },
  { name: 'pipeline', load: false, run: (ctx) => runPipeline(ctx) },
  { name: 'client', load: false, run: (ctx) => runClient(ctx) },
  { name: 'injector', load: false, run: (ctx) => runInjector(ctx) },
  { name: 'review', load: false, run: (ctx) => runReview(ctx) },
  { name: 'throughput', load: true, run: (ctx) => runThroughput(ctx) },
  { name: 'latency', load: true, run: (ctx) => runLatency(ctx) },
  { name: 'misses', load: true, run: (ctx) => runMisses(ctx) },
  { name: 'transport', load: true, run: (ctx) => runTransport(ctx) },
  { name: 'reload', load: true, run: (ctx) => runReload(ctx) },
  { name: 'overload', load: true, run: (ctx) => runOverload({ ...ctx, capacity: ctx.results.throughput?.pdp?.reqPerSec }) },
  { name: 'v8flags', load: true, run: (ctx) => runV8Flags(ctx, false) },
  { name: 'v8flags-stgc', load: true, run: (ctx) => runV8Flags(ctx, true) },
];

const USAGE = `usage: node bench/run.mjs [--quick] [--only=SECTION[,SECTION...]] [--server-flags="NODE FLAGS"] [--install-tools]
  --quick          shorter runs (for checking the harness; figures are rougher)
  --only           sections: ${SECTIONS.map((s) => s.name).join(', ')}
  --server-flags   node flags of the server under test (real and bare); default: those of 'npm start'
  --install-tools  apt-get install what is missing (h2load: nghttp2-client) before running
`;

/** The node flags of package.json's start script (`node FLAGS dist/cli/main.js ...`): what ships. */
function startScriptFlags() {
  const start = JSON.parse(readFileSync('package.json', 'utf8')).scripts?.start ?? '';
  const m = /\bnode\s+(.*?)\s*dist\/cli\/main\.js/.exec(start);
  return m ? m[1] : '';
}

// Paths below (dist/, bench/, package.json) are relative to the repository root.
process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'server-flags': { type: 'string' }, 'install-tools': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = only?.filter((s) => !SECTIONS.some((x) => x.name === s)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`unknown section(s): ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}

let tools = checkTools();
if (tools.missing.length > 0 && values['install-tools']) {
  installTools(tools.missing);
  tools = checkTools();
}
for (const t of tools.missing) process.stderr.write(`bench: ${t.name} not found; it is needed for ${t.for}.\n`);
if (tools.missing.length > 0) process.stderr.write(`bench: install with: ${installCommand(tools.missing)}  (or run with --install-tools)\n`);

pinSelf();
const serverFlags = values['server-flags'] ?? startScriptFlags();
const selected = SECTIONS.filter((s) => only === undefined || only.includes(s.name));
const dir = mkdtempSync(join(tmpdir(), 'pdp-bench-'));
const results = { startedAt: new Date().toISOString(), machine: describeMachine(), quick: values.quick, serverFlags, sections: {}, skipped: {} };
process.stderr.write(`bench: ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}; server flags "${serverFlags}"${values.quick ? '; quick' : ''}\n`);
try {
  const needsLoad = selected.some((s) => s.load && tools.hasH2load);
  const workload = needsLoad ? await prepareWorkload(dir, 20_000) : undefined;
  for (const section of selected) {
    if (section.load && !tools.hasH2load) {
      results.skipped[section.name] = `h2load is missing (${installCommand(tools.missing)})`;
      continue;
    }
    const t = performance.now();
    process.stderr.write(`bench: ${section.name}...\n`);
    try {
      results.sections[section.name] = await section.run({ quick: values.quick, serverFlags, workload, logDir: dir, results: results.sections });
    } catch (e) {
      results.skipped[section.name] = `failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    process.stderr.write(`bench: ${section.name} took ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
results.finishedAt = new Date().toISOString();
printTable(results, process.stdout);
const written = writeResults(results, 'bench/results');
process.stdout.write(`\nwrote ${written.join(' and ')}\n`);
process.exitCode = Object.values(results.skipped).some((s) => s.startsWith('failed')) ? 1 : 0;
