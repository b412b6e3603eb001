import { parseArgs } from 'node:util';
import { PdpError } from '../errors.js';
import { ImpactCounter, type ImpactReport, type PrincipalChange } from '../review/impact.js';
import { InventoryError } from '../review/inventory.js';
import { parseMode } from './config.js';
import { readInventoryFile, readPostgresInventory } from './inventory-file.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { COMPILE_FLAGS, compileSettings } from './load.js';
import { loadPolicySide, parsePolicySide, type PolicySide } from './policy-side.js';
import { postgresUrl } from './postgres-sync.js';

const USAGE =
  'usage: guardrail-pdp impact (BUNDLE | --db FILE.db | postgres:URL) --inventory (FILE.jsonl | FILE.csv | postgres:URL | postgres:env:VAR)\n' +
  '         [--against OLD] [--json] [--mode strict|compat] [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
The blast radius of a policy set over real keys and teams (docs/policy-review.md#impact): for each
policy, how many keys and teams it reaches, and which. With --against OLD (a bundle, a db or
postgres:...), the keys and teams whose guardrails or pipelines change from OLD, with the change.

The inventory is JSON lines ({"key_alias", "team_alias", "tags", "models", "policies",
"team_policies", "kind": "key"|"team"}) or CSV with a header (key_alias and team_alias required;
list cells separated by ';'), by extension (.jsonl/.ndjson/.json, .csv) or else by its first line;
or LiteLLM's own key and team tables (postgres:URL or postgres:env:VAR). A key is resolved once
per model it lists (with no model when it lists none); unnamed keys are counted, never listed.

  --json     The full report as JSON (every alias; the table truncates lists).

Exit 0 reported, 2 bad option, a bad inventory (file:line and why), or a policy set unreadable or invalid.
`;

/** How many aliases the table shows per list before "(and N more)". */
const ALIASES_SHOWN = 5;
/** How many changed keys and teams the table lists (--json lists all). */
const CHANGES_SHOWN = 50;

/** `impact`: see HELP. */
export async function runImpact(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      inventory: { type: 'string' },
      against: { type: 'string' },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...COMPILE_FLAGS,
    },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const named = values.db === undefined ? positionals : [`db:${values.db}`, ...positionals];
  if (named.length !== 1) problems.push('impact takes one policy set: BUNDLE, --db FILE.db or postgres:URL');
  const side = named[0] === undefined ? undefined : parsePolicySide(named[0], io.env, 'the policy set', problems);
  const against = values.against === undefined ? undefined : parsePolicySide(values.against, io.env, '--against', problems);
  let inventoryUrl: string | undefined;
  if (values.inventory === undefined || values.inventory === '') problems.push('--inventory FILE is required: the keys and teams to measure against');
  else if (values.inventory.startsWith('postgres:')) inventoryUrl = postgresUrl(values.inventory.slice('postgres:'.length), io.env, '--inventory', problems);
  if (problems.length > 0) return usageError(io, problems, USAGE);

  const settings = compileSettings(values, io.env);
  const current = await loadPolicySide(side as PolicySide, mode, settings, io);
  if (!current.ok) return current.exitCode;
  const old = against === undefined ? undefined : await loadPolicySide(against, mode, settings, io);
  if (old !== undefined && !old.ok) return old.exitCode;

  const started = performance.now();
  const counter = new ImpactCounter(current.snapshot, old?.snapshot);
  try {
    if (inventoryUrl !== undefined) await readPostgresInventory(inventoryUrl, (p) => counter.add(p));
    else await readInventoryFile(values.inventory as string, (p) => counter.add(p));
  } catch (e) {
    const message = e instanceof InventoryError || e instanceof PdpError ? e.message : `inventory: ${(e as Error).message}`;
    io.stderr.write(`${message}\n`);
    return EXIT.UNREADABLE;
  }
  const report = counter.report();
  const ms = Math.round(performance.now() - started);
  io.stdout.write(values.json === true ? `${JSON.stringify({ ...toJson(report, old !== undefined), inventory_ms: ms }, null, 2)}\n` : formatImpact(report, old !== undefined, ms));
  return EXIT.OK;
}

function aliases(list: readonly string[], unnamed = 0): string {
  const shown = list.slice(0, ALIASES_SHOWN);
  const more = list.length - shown.length;
  const parts = [shown.join(', ')];
  if (more > 0) parts.push(`(and ${more.toLocaleString('en-US')} more)`);
  if (unnamed > 0) parts.push(`+${unnamed.toLocaleString('en-US')} unnamed`);
  return parts.filter((p) => p !== '').join(' ');
}

function changeText(c: Pick<PrincipalChange, 'added' | 'removed' | 'pipelines'>): string {
  return [
    ...c.added.map((g) => `+${g}`),
    ...c.removed.map((g) => `-${g}`),
    ...c.pipelines.added.map((p) => `+pipeline:${p}`),
    ...c.pipelines.removed.map((p) => `-pipeline:${p}`),
    ...c.pipelines.changed.map((p) => `~pipeline:${p}`),
  ].join(' ');
}

/** The table: reach per policy, then (with --against) the changed keys and teams. */
export function formatImpact(report: ImpactReport, against: boolean, ms: number): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines = [
    `${n(report.keys)} keys (${n(report.unnamedKeys)} unnamed), ${n(report.teams)} teams; ${n(report.contexts)} requests resolved as ${n(report.distinctContexts)} distinct classes, in ${n(ms)} ms`,
  ];
  const rows = report.policies.map((p) => [p.policy, n(p.keys.length + p.unnamedKeys), n(p.teams.length), aliases(p.keys, p.unnamedKeys), aliases(p.teams)]);
  const header = ['POLICY', 'KEYS', 'TEAMS', 'WHICH KEYS', 'WHICH TEAMS'];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))));
  const fmt = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  if (against) {
    const total = report.changes.length + report.unnamedChanges.reduce((s, c) => s + c.count, 0);
    lines.push('', total === 0 ? 'No key or team gets other guardrails or pipelines than with --against.' : `${n(total)} key/team requests change:`);
    for (const c of report.changes.slice(0, CHANGES_SHOWN)) {
      const who = c.kind === 'key' ? `key ${c.keyAlias}${c.teamAlias === undefined ? '' : ` (team ${c.teamAlias})`}` : `team ${c.teamAlias}`;
      lines.push(`  ${who}${c.model === undefined ? '' : `, model ${c.model}`}: ${changeText(c)}`);
    }
    if (report.changes.length > CHANGES_SHOWN) lines.push(`  (and ${n(report.changes.length - CHANGES_SHOWN)} more; --json lists all)`);
    for (const c of report.unnamedChanges) lines.push(`  ${n(c.count)} unnamed key request(s): ${changeText(c)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The JSON report: every alias and every change. */
export function toJson(report: ImpactReport, against: boolean): Record<string, unknown> {
  return {
    keys: report.keys,
    unnamed_keys: report.unnamedKeys,
    teams: report.teams,
    requests: report.contexts,
    distinct_requests: report.distinctContexts,
    policies: report.policies.map((p) => ({
      policy: p.policy,
      keys: p.keys.length + p.unnamedKeys,
      unnamed_keys: p.unnamedKeys,
      teams: p.teams.length,
      key_aliases: p.keys,
      team_aliases: p.teams,
    })),
    ...(against
      ? {
          changes: report.changes.map((c) => ({
            kind: c.kind,
            key_alias: c.keyAlias ?? null,
            team_alias: c.teamAlias ?? null,
            model: c.model ?? null,
            added: c.added,
            removed: c.removed,
            pipelines: c.pipelines,
          })),
          unnamed_key_changes: report.unnamedChanges,
        }
      : {}),
  };
}
