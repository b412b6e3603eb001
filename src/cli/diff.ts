import { parseArgs } from 'node:util';
import type { RequestContext } from '../model/decision.js';
import { diffSnapshots, type ChangeGroup, type DiffReport } from '../review/diff.js';
import { DEFAULT_BOUND } from '../review/enumerate.js';
import { parseMode } from './config.js';
import { type CliIo, EXIT, printHelp, usageError } from './io.js';
import { COMPILE_FLAGS, compileSettings } from './load.js';
import { loadPolicySide, parsePolicySide, type PolicySide } from './policy-side.js';

const USAGE =
  'usage: guardrail-pdp diff OLD NEW [--mode strict|compat] [--json] [--fail-on removed|changed]\n' +
  '         [--max-witnesses N] [--max-cells-per-attachment N] [--require-executable] [--content-filter-categories DIR]\n';

const HELP = `${USAGE}
Which requests gain or lose guardrails or pipelines between two policy sets (docs/policy-review.md).
OLD and NEW are each a bundle file, a db (a path ending .db, .sqlite or .sqlite3, or db:PATH), or
LiteLLM's live database (postgres:URL, or postgres:env:VAR to take the URL from a variable).
Both compile as serve compiles them. The patterns of both sides split requests into classes that
resolve alike; one witness request per class is resolved on both sides. Prints one row per change:
the classes (as patterns: team=health-*, model=gpt-4*), +added and -removed guardrails (flat or in
a pipeline) and changed pipelines; then policies that requests, keys or teams name; then changed
attachments or policies the bound left out ("not enumerated").

  --json                  The same report as JSON (every class, with its witness request).
  --fail-on removed       Exit 1 when any class loses a guardrail, or a changed attachment or policy
                          was not enumerated (the CI gate). --fail-on changed: any change at all.
  --max-witnesses N       Witness requests resolved at most (default ${DEFAULT_BOUND.maxWitnesses}).
  --max-cells-per-attachment N
                          Team/key/tag class combinations listed per attachment (default ${DEFAULT_BOUND.maxCellsPerAttachment}).

Exit 0 compared (and the gate passed), 1 the --fail-on gate failed, 2 bad option, or a side
unreadable, unreachable or invalid.
`;

/** `diff OLD NEW`: see HELP and docs/policy-review.md. */
export async function runDiff(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      mode: { type: 'string' },
      json: { type: 'boolean' },
      'fail-on': { type: 'string' },
      'max-witnesses': { type: 'string' },
      'max-cells-per-attachment': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...COMPILE_FLAGS,
    },
    allowPositionals: true,
  });
  if (values.help === true) return printHelp(io, HELP);
  const problems: string[] = [];
  const mode = parseMode(values.mode, problems);
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'removed' && failOn !== 'changed') problems.push(`--fail-on: '${failOn}' is not removed or changed`);
  const bound = {
    maxWitnesses: positiveInt(values['max-witnesses'], '--max-witnesses', DEFAULT_BOUND.maxWitnesses, problems),
    maxCellsPerAttachment: positiveInt(values['max-cells-per-attachment'], '--max-cells-per-attachment', DEFAULT_BOUND.maxCellsPerAttachment, problems),
  };
  if (positionals.length !== 2) problems.push('diff takes two policy sets: OLD NEW');
  const sides = positionals.slice(0, 2).map((arg, i) => parsePolicySide(arg, io.env, i === 0 ? 'OLD' : 'NEW', problems));
  if (problems.length > 0) return usageError(io, problems, USAGE);

  const settings = compileSettings(values, io.env);
  const old = await loadPolicySide(sides[0] as PolicySide, mode, settings, io);
  if (!old.ok) return old.exitCode;
  const next = await loadPolicySide(sides[1] as PolicySide, mode, settings, io);
  if (!next.ok) return next.exitCode;

  const report = diffSnapshots(old.snapshot, next.snapshot, bound);
  const removes = [...report.requests, ...report.named].some((g) => g.removed.length > 0);
  const changes = report.requests.length + report.named.length > 0;
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(toJson(report, old.origin, next.origin), null, 2)}\n`);
  } else {
    io.stdout.write(formatReport(report, old.origin, next.origin));
  }
  const unsure = report.notEnumerated.length > 0;
  if (failOn === 'removed' && (removes || unsure)) return 1;
  if (failOn === 'changed' && (changes || unsure)) return 1;
  return EXIT.OK;
}

function positiveInt(raw: string | undefined, flag: string, fallback: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  if (/^[1-9]\d{0,9}$/.test(raw)) return Number(raw);
  problems.push(`${flag}: '${raw}' is not a positive whole number`);
  return fallback;
}

/** How many classes a table row lists before "(and N more)". */
const CLASSES_SHOWN = 3;

/** The table: one row per change group. */
export function formatReport(report: DiffReport, oldOrigin: string, newOrigin: string): string {
  const lines: string[] = [];
  const n = (x: number): string => x.toLocaleString('en-US');
  lines.push(`diff ${oldOrigin} -> ${newOrigin}: ${n(report.cells)} cells, ${n(report.witnesses)} witness requests resolved on both sides`);
  const table = (groups: readonly ChangeGroup[]): void => {
    const rows = groups.map((g) => [classesCell(g), list('+', g.added), list('-', g.removed), pipelinesCell(g)]);
    const header = ['CLASS', 'ADDED', 'REMOVED', 'PIPELINES'];
    const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))));
    const fmt = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd();
    lines.push(fmt(header));
    for (const r of rows) lines.push(fmt(r));
  };
  if (report.requests.length === 0) lines.push('No request class gains or loses a guardrail or pipeline.');
  else table(report.requests);
  if (report.named.length > 0) {
    lines.push('', 'Named policies (what a request, key or team naming the policy gets):');
    table(report.named);
  }
  if (report.notEnumerated.length > 0) {
    lines.push('', `Not enumerated: ${report.notEnumerated.length} changed attachment(s) or policies outside the bound:`);
    for (const x of report.notEnumerated) lines.push(`  policy ${x.policy}${x.attachment === undefined ? '' : ` ${describeAttachment(x)}`}: ${x.reason}`);
  }
  if (report.unchangedNotEnumerated > 0) {
    lines.push(`(${n(report.unchangedNotEnumerated)} unchanged attachment(s) were cut by the bound too; they are the same on both sides.)`);
  }
  return `${lines.join('\n')}\n`;
}

function classesCell(g: ChangeGroup): string {
  const shown = g.classes.slice(0, CLASSES_SHOWN).map((c) => c.label);
  const more = g.classes.length - shown.length;
  return `${shown.join(' | ')}${more > 0 ? ` (and ${more.toLocaleString('en-US')} more)` : ''}`;
}

function list(sign: string, names: readonly string[]): string {
  return names.map((x) => `${sign}${x}`).join(' ');
}

function pipelinesCell(g: ChangeGroup): string {
  const p = g.pipelines;
  return [...p.added.map((x) => `+${x}`), ...p.removed.map((x) => `-${x}`), ...p.changed.map((x) => `~${x}`)].join(' ');
}

function describeAttachment(x: DiffReport['notEnumerated'][number]): string {
  const a = x.attachment;
  if (a === undefined) return '';
  const parts = (['teams', 'keys', 'models', 'tags'] as const).filter((d) => a[d] !== undefined).map((d) => `${d}: ${JSON.stringify(a[d])}`);
  return `{${parts.join(', ')}}`;
}

/** An attachment as a bundle writes it. */
function attachmentJson(a: NonNullable<DiffReport['notEnumerated'][number]['attachment']>): Record<string, unknown> {
  if (a.isGlobal) return { policy: a.policy, scope: '*' };
  const out: Record<string, unknown> = { policy: a.policy };
  for (const d of ['teams', 'keys', 'models', 'tags'] as const) if (a[d] !== undefined) out[d] = a[d];
  return out;
}

function contextJson(c: RequestContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.teamAlias !== undefined) out.team_alias = c.teamAlias;
  if (c.keyAlias !== undefined) out.key_alias = c.keyAlias;
  if (c.model !== undefined) out.model = c.model;
  if (c.tags.length > 0) out.tags = c.tags;
  return out;
}

function groupJson(g: ChangeGroup): Record<string, unknown> {
  return {
    classes: g.classes.map((c) => ({ class: c.label, witness: contextJson(c.witness) })),
    added: g.added,
    removed: g.removed,
    pipelines: g.pipelines,
  };
}

/** The JSON report (docs/policy-review.md shows its shape). */
export function toJson(report: DiffReport, oldOrigin: string, newOrigin: string): Record<string, unknown> {
  return {
    old: oldOrigin,
    new: newOrigin,
    cells: report.cells,
    witnesses: report.witnesses,
    removes_guardrails: [...report.requests, ...report.named].some((g) => g.removed.length > 0),
    requests: report.requests.map(groupJson),
    named_policies: report.named.map(groupJson),
    not_enumerated: report.notEnumerated.map((x) => ({ policy: x.policy, attachment: x.attachment === undefined ? null : attachmentJson(x.attachment), reason: x.reason })),
    unchanged_not_enumerated: report.unchangedNotEnumerated,
  };
}
