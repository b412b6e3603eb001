import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

// `guardrail-pdp impact` through the built binary: reach per policy over JSON lines and CSV
// inventories, --against, and bad inventories (file:line, exit 2).

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-cli-impact-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const GUARDRAILS = ['pii', 'inj', 'audit'].map((g) => ({ guardrail_name: g, litellm_params: { guardrail: 'presidio', mode: 'pre_call' } }));
const POLICIES = {
  guardrails: GUARDRAILS,
  policies: {
    baseline: { guardrails: { add: ['pii'] } },
    hipaa: { inherit: 'baseline', guardrails: { add: ['audit'] }, condition: { model: 'gpt-4.*' } },
    screened: { guardrails: { add: ['inj'] } },
    strict: { guardrails: { add: ['inj'] } },
    unused: { guardrails: { add: ['audit'] } },
  },
  policy_attachments: [
    { policy: 'hipaa', teams: ['health-*'] },
    { policy: 'screened', tags: ['screened'] },
    { policy: 'screened', keys: ['ci-*'] },
  ],
};

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const bundle = (data: unknown = POLICIES, name = 'bundle.json'): string => file(name, JSON.stringify(data));

const JSONL = [
  { key_alias: 'alice', team_alias: 'health-eu', models: ['gpt-4o'] },
  { key_alias: 'bob', team_alias: 'health-us', models: ['claude-3'] },
  { key_alias: 'ci-runner', team_alias: 'platform' },
  { key_alias: null, team_alias: 'platform', tags: ['screened'] },
  { key_alias: 'carol', team_alias: 'sales', policies: ['strict'], spend: 12.5 },
  { kind: 'team', team_alias: 'legal', policies: ['strict'] },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

interface Reach {
  policy: string;
  keys: number;
  unnamed_keys: number;
  teams: number;
  key_aliases: string[];
  team_aliases: string[];
}
interface ImpactJson {
  keys: number;
  unnamed_keys: number;
  teams: number;
  policies: Reach[];
  changes?: { kind: string; key_alias: string | null; team_alias: string | null; model: string | null; added: string[]; removed: string[] }[];
  unnamed_key_changes?: { count: number; added: string[]; removed: string[] }[];
}

async function impact(args: string[]): Promise<ImpactJson> {
  const r = await cli(['impact', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ImpactJson;
}

function reachOf(report: ImpactJson): Record<string, string> {
  return Object.fromEntries(report.policies.map((p) => [p.policy, `${p.keys} keys [${p.key_aliases.join(',')}]+${p.unnamed_keys} unnamed; ${p.teams} teams [${[...p.team_aliases].sort().join(',')}]`]));
}

const EXPECTED_REACH = {
  // hipaa's chain includes baseline: both reach the health teams' keys (whatever the model: reach is by attachment or name).
  baseline: '2 keys [alice,bob]+0 unnamed; 2 teams [health-eu,health-us]',
  hipaa: '2 keys [alice,bob]+0 unnamed; 2 teams [health-eu,health-us]',
  screened: '2 keys [ci-runner]+1 unnamed; 1 teams [platform]',
  strict: '1 keys [carol]+0 unnamed; 2 teams [legal,sales]',
  unused: '0 keys []+0 unnamed; 0 teams []',
};

describe('guardrail-pdp impact', () => {
  it('counts and lists the keys and teams each policy reaches, from JSON lines (unnamed keys counted, not listed)', async () => {
    const report = await impact([bundle(), '--inventory', file('inv.jsonl', JSONL)]);
    expect(report.keys).toBe(5);
    expect(report.unnamed_keys).toBe(1);
    expect(report.teams).toBe(5);
    expect(reachOf(report)).toEqual(EXPECTED_REACH);
    const table = await cli(['impact', bundle(), '--inventory', file('inv.jsonl', JSONL)]);
    expect(table.stdout).toMatch(/^5 keys \(1 unnamed\), 5 teams; 6 requests resolved as \d+ distinct classes, in \d+ ms$/m);
    expect(table.stdout).toMatch(/^screened\s+2\s+1\s+ci-runner \+1 unnamed\s+platform$/m);
  });

  it('reads the same inventory as CSV, with quoted cells, list cells and a JSON array cell', async () => {
    const csv = file(
      'inv.csv',
      [
        'kind,key_alias,team_alias,tags,models,policies,spend',
        'key,alice,health-eu,,gpt-4o,,1',
        'key,bob,health-us,,"[""claude-3""]",,2',
        ',ci-runner,platform,,,,3',
        'key,,platform,screened;other,,,4',
        'key,carol,sales,,,strict,"5,5"',
        'team,,legal,,,strict,0',
      ].join('\r\n'),
    );
    const report = await impact([bundle(), '--inventory', csv]);
    expect(reachOf(report)).toEqual(EXPECTED_REACH);
  });

  it('sniffs the format of a file without a known extension, and reads a db as the policy set', async () => {
    const db = path.join(dir, 'policies.db');
    expect((await cli(['compile', bundle(), '-o', db])).code).toBe(0);
    const report = await impact(['--db', db, '--inventory', file('inventory.txt', JSONL)]);
    expect(reachOf(report)).toEqual(EXPECTED_REACH);
  });

  it('with --against, lists the keys and teams whose guardrails change, per model, and counts unnamed keys', async () => {
    const next = bundle(
      {
        ...POLICIES,
        policies: { ...POLICIES.policies, screened: { guardrails: { add: ['inj', 'audit'] } }, baseline: { guardrails: { add: ['pii', 'inj'] } } },
        policy_attachments: POLICIES.policy_attachments.filter((a) => a.keys === undefined),
      },
      'next.json',
    );
    const report = await impact([next, '--against', bundle(), '--inventory', file('inv.jsonl', JSONL)]);
    const changes = (report.changes ?? []).map((c) => `${c.kind} ${c.key_alias ?? '-'}/${c.team_alias ?? '-'}/${c.model ?? '-'}: +${c.added.join(',')} -${c.removed.join(',')}`);
    expect(changes).toEqual(['key alice/health-eu/gpt-4o: +inj -', 'key bob/health-us/claude-3: +inj -', 'key ci-runner/platform/-: + -inj']);
    expect(report.unnamed_key_changes).toEqual([{ count: 1, added: ['audit'], removed: [], pipelines: { added: [], removed: [], changed: [] } }]);
    const table = await cli(['impact', next, '--against', bundle(), '--inventory', file('inv.jsonl', JSONL)]);
    expect(table.stdout).toContain('4 key/team requests change:\n  key alice (team health-eu), model gpt-4o: +inj\n');
    expect(table.stdout).toContain('  key ci-runner (team platform): -inj\n');
    expect(table.stdout).toContain('  1 unnamed key request(s): +audit\n');
  });

  it('rejects bad inventories with file:line and exit 2', async () => {
    const b = bundle();
    const cases: [string, string, RegExp][] = [
      ['bad.jsonl', '{"key_alias":"a"}\n{"key_alias": "b",\n', /bad\.jsonl:2: not valid JSON/],
      ['types.jsonl', '{"key_alias":"a"}\n\n{"key_alias":"b","tags":"pii"}\n', /types\.jsonl:3: tags: expected a list of strings, got "pii"/],
      ['alias.jsonl', '{"key_alias":7}\n', /alias\.jsonl:1: key_alias: expected a string or null, got 7/],
      ['kind.jsonl', '{"kind":"user","key_alias":"a"}\n', /kind\.jsonl:1: kind: 'user' is not key or team/],
      ['team.jsonl', '{"kind":"team"}\n', /team\.jsonl:1: a team needs a team_alias/],
      ['array.jsonl', '["a"]\n', /array\.jsonl:1: expected a JSON object/],
      ['header.csv', 'key_alias,tags\na,x\n', /header\.csv:1: the CSV header lacks the column team_alias/],
      ['cells.csv', 'key_alias,team_alias\na,b\nc,d,e\n', /cells\.csv:3: 3 cells, the header has 2/],
      ['quote.csv', 'key_alias,team_alias\n"a,b\n', /quote\.csv:2: a quoted cell is not closed/],
      ['list.csv', 'key_alias,team_alias,models\na,b,[1]\n', /list\.csv:2: models: expected a list of strings/],
      ['long.jsonl', `{"key_alias":"${'x'.repeat(1024 * 1024 + 10)}"}\n`, /long\.jsonl:1: a line longer than 1048576 characters/],
    ];
    for (const [name, text, message] of cases) {
      const r = await cli(['impact', b, '--inventory', file(name, text)]);
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${message.source}`));
      expect(r.stdout, name).toBe('');
    }
    const missing = await cli(['impact', b, '--inventory', path.join(dir, 'none.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read inventory');
    expect((await cli(['impact', b])).stderr).toContain('--inventory FILE is required');
  });
});
