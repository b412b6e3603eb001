// The README's Performance table from one run: `node bench/summary.mjs [RESULTS.json]` (default
// bench/results/latest.json) prints it as Markdown, every figure next to the bare grpc-js server
// measured in the same run and as a ratio to it, with the machine the run was on. Rows whose
// section did not run are left out.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { checkTargets } from './table.mjs';

const f = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toLocaleString('en', { maximumFractionDigits: digits }));
const x = (ours, bare) => (ours && bare ? `${f(ours / bare)}x` : '-');

/** The Markdown: a line naming the run and its machine, then the table. `file` names the run. */
export function summaryMarkdown(results, file) {
  const s = results.sections;
  const rows = [];
  const add = (figure, ours, bare, ratio, target = '') => rows.push(`| ${figure} | ${ours} | ${bare} | ${ratio} | ${target} |`);
  const targets = checkTargets(s);
  const met = (name) => {
    const t = targets.find((r) => r.target.startsWith(name));
    return t === undefined ? '' : t.met ? 'met' : '**not met**';
  };

  if (s.throughput) {
    const t = s.throughput;
    add(`throughput, closed loop (h2load, ${t.streams} in flight), one repeated context`, `${f(t.pdp.reqPerSec, 0)} req/s`, `${f(t.bare.reqPerSec, 0)} req/s`, x(t.pdp.reqPerSec, t.bare.reqPerSec), `≥ 0.8x: ${met('throughput')}`);
  }
  const m = s.misses;
  if (m) {
    const closed = (rows) => rows.find((r) => r.mode === 'closed');
    add('throughput, closed loop (100 in flight), every context new', `${f(closed(m.pdp).reqPerSec, 0)} req/s`, `${f(closed(m.bare).reqPerSec, 0)} req/s`, `${f(m.closedRatio)}x`, `≥ 0.8x: ${met('new contexts, closed loop')}`);
    const open = (rows, traffic, fraction) => rows.find((r) => r.mode === 'open' && r.traffic === traffic && r.fraction === fraction);
    for (const traffic of ['repeat', 'new']) {
      for (const fraction of m.fractions) {
        const ours = open(m.pdp, traffic, fraction);
        const bare = open(m.bare, 'new', fraction);
        const ratio = m.ratios.find((r) => r.traffic === traffic && r.fraction === fraction);
        const what = traffic === 'repeat' ? 'one repeated context (memo hits)' : 'every context new (memo misses)';
        const target = traffic === 'new' && fraction === 0.3 ? `p99 ≤ 1.25x: ${met('new contexts at 30%')}` : '';
        add(
          `open loop at ${f(fraction * 100, 0)}% of bare capacity (${f(ours.achievedRps, 0)}/s), ${what}: p50 / p99 ms, errors`,
          `${f(ours.latencyMs.p50)} / ${f(ours.latencyMs.p99)}, ${f(ours.errors)}`,
          `${f(bare.latencyMs.p50)} / ${f(bare.latencyMs.p99)}, ${f(bare.errors)}`,
          `${f(ratio.p50)}x / ${f(ratio.p99)}x`,
          target,
        );
      }
    }
    for (const traffic of ['repeat', 'new']) {
      const ours = open(m.pdp, traffic, 0.3);
      const bare = open(m.bare, 'new', 0.3);
      add(`server CPU per call at 30%, ${traffic === 'repeat' ? 'memo hits' : 'memo misses'} (µs, /proc)`, f(ours.serverCpuUsPerCall, 1), f(bare.serverCpuUsPerCall, 1), x(ours.serverCpuUsPerCall, bare.serverCpuUsPerCall), traffic === 'new' ? `≤ 1.5x: ${met('new contexts: CPU')}` : '');
    }
    const peak = (rows, traffic) => Math.max(...rows.filter((r) => r.traffic === traffic).map((r) => r.rssMaxMb));
    const highest = Math.max(peak(m.pdp, 'repeat'), peak(m.pdp, 'new'));
    add('peak RSS, 10,000 policies, repeated / new contexts (MB)', `${f(peak(m.pdp, 'repeat'), 0)} / ${f(peak(m.pdp, 'new'), 0)}`, f(peak(m.bare, 'new'), 0), '', `< 150 MB: ${highest < 150 ? 'met' : '**not met**'}`);
  }
  const tr = s.transport;
  if (tr) {
    const pick = (server, transport, traffic) => tr.summary.find((r) => r.server === server && r.transport === transport && r.traffic === traffic);
    for (const transport of ['tcp', 'unix']) {
      const ours = pick('pdp', transport, 'new');
      const bare = pick('bare', transport, 'new');
      if (ours && bare)
        add(`Resolve over ${transport === 'unix' ? 'a Unix socket' : 'loopback TCP'}, ${f(tr.rate)}/s, one in flight, new contexts (grpcio): p50 / p99 ms`, `${f(ours.p50, 3)} / ${f(ours.p99, 3)}`, `${f(bare.p50, 3)} / ${f(bare.p99, 3)}`, `${x(ours.p50, bare.p50)} / ${x(ours.p99, bare.p99)}`, transport === 'unix' ? 'p99 < 1 ms (moonshot)' : '');
    }
  }
  if (s.reload) {
    const r = s.reload;
    add(`activation of ${f(r.policies)} policies under ${f(r.rate)} req/s: median / max ms, failed calls`, `${f(r.activationMs.median, 0)} / ${f(r.activationMs.max, 0)}, ${f(r.errors)}`, '', '', `< 1 s: ${met('10,000-policy activation')}`);
  }
  const ip = s.inprocess?.rows;
  if (ip) {
    const at = (n) => ip.find((r) => r.attachments === n);
    if (at(10_000)) add('in-process miss (read the request bytes, resolve, encode), 10,000 attachments: µs, bytes allocated', `${f(at(10_000).handler.medianUs)} µs, ${f(at(10_000).handler.bytesPerCall, 0)} B`, '', '', `< 2 KB: ${at(10_000).handler.bytesPerCall < 2048 ? 'met' : '**not met**'}`);
    if (at(100_000)) add('in-process resolve(), 100,000 attachments: median µs', f(at(100_000).engine.medianUs), '', '', `< 5 µs: ${met('in-process Resolve')}`);
  }

  const mc = results.machine;
  return [
    `Run of ${results.startedAt.slice(0, 10)} (\`npm run bench\`, ${file}): ${mc.cpu}, ${mc.cores} cores, ${mc.memoryGb} GB, Node ${mc.node.replace(/^v/, '')}, load average ${mc.loadAverage.join(' ')} at the start; ${mc.pinning}; server flags \`${results.serverFlags}\`.`,
    '',
    '| figure | guardrail-pdp | bare grpc-js | ours / bare | target |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url).pathname;
  process.stdout.write(`${summaryMarkdown(JSON.parse(readFileSync(file, 'utf8')), file.split('/').pop())}\n`);
}
