import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

// `guardrail-pdp diff` through the built binary, on small hand-built bundles whose classes are
// known: each expectation names the class, its witness and the change.

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-cli-diff-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const GUARDRAILS = ['pii', 'inj', 'audit', 'toxicity'].map((g) => ({ guardrail_name: g, litellm_params: { guardrail: 'presidio', mode: 'pre_call' } }));

interface Sections {
  policies: Record<string, unknown>;
  policy_attachments: unknown[];
}

function write(name: string, s: Sections): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ guardrails: GUARDRAILS, ...s }));
  return file;
}

const OLD: Sections = {
  policies: {
    baseline: { guardrails: { add: ['pii'] } },
    hipaa: { inherit: 'baseline', guardrails: { add: ['audit'] }, condition: { model: 'gpt-4.*' } },
    screened: { guardrails: { add: ['inj'] } },
  },
  policy_attachments: [
    { policy: 'baseline', scope: '*' },
    { policy: 'hipaa', teams: ['health-*'] },
    { policy: 'screened', tags: ['screened'] },
  ],
};

interface JsonGroup {
  classes: { class: string; witness: Record<string, unknown> }[];
  added: string[];
  removed: string[];
  pipelines: { added: string[]; removed: string[]; changed: string[] };
}
interface JsonReport {
  requests: JsonGroup[];
  named_policies: JsonGroup[];
  not_enumerated: { policy: string; attachment: unknown; reason: string }[];
  unchanged_not_enumerated: number;
  removes_guardrails: boolean;
  cells: number;
  witnesses: number;
}

async function diffJson(oldFile: string, newFile: string, ...flags: string[]): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const r = await cli(['diff', oldFile, newFile, '--json', ...flags]);
  return { code: r.code, report: JSON.parse(r.stdout) as JsonReport, stderr: r.stderr };
}

/** The groups as `class -> change` strings, sorted: easy to compare whole. */
function summary(groups: readonly JsonGroup[]): string[] {
  const out: string[] = [];
  for (const g of groups) {
    const p = g.pipelines;
    const change = [...g.added.map((x) => `+${x}`), ...g.removed.map((x) => `-${x}`), ...p.added.map((x) => `+p:${x}`), ...p.removed.map((x) => `-p:${x}`), ...p.changed.map((x) => `~p:${x}`)].join(' ');
    for (const c of g.classes) out.push(`${c.class} => ${change}`);
  }
  return out.sort();
}

describe('guardrail-pdp diff', () => {
  it('reports no change and exits 0 for the same policies in two files, even with --fail-on changed', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', OLD);
    const r = await cli(['diff', a, b, '--fail-on', 'changed']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No request class gains or loses a guardrail or pipeline.');
    expect(r.stdout).not.toContain('Named policies');
  });

  it('narrowing a team wildcard loses the guardrail for the class it no longer covers, only where the condition holds', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', { ...OLD, policy_attachments: [OLD.policy_attachments[0], { policy: 'hipaa', teams: ['health-eu-*'] }, OLD.policy_attachments[2]] });
    const { code, report } = await diffJson(a, b);
    expect(code).toBe(0);
    expect(summary(report.requests)).toEqual(['team=health-*, model=/gpt-4.*/ => -audit']);
    // The witness is a concrete request of exactly that class: a health- team no narrower pattern takes, a model the condition accepts.
    const witness = report.requests[0]?.classes[0]?.witness;
    expect(witness).toEqual({ team_alias: 'health-x', model: 'gpt-4' });
    expect(report.removes_guardrails).toBe(true);
    const gate = await cli(['diff', a, b, '--fail-on', 'removed']);
    expect(gate.code).toBe(1);
    expect(gate.stdout).toMatch(/^team=health-\*, model=\/gpt-4\.\*\/\s+-audit$/m);
  });

  it('exits 0 under --fail-on removed when guardrails are only added, and 1 under --fail-on changed', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', { ...OLD, policy_attachments: [...OLD.policy_attachments, { policy: 'screened', teams: ['payments'] }] });
    const { report } = await diffJson(a, b);
    expect(summary(report.requests)).toEqual(['team=payments => +inj']);
    expect(summary(report.named_policies)).toEqual([]);
    expect((await cli(['diff', a, b, '--fail-on', 'removed'])).code).toBe(0);
    expect((await cli(['diff', a, b, '--fail-on', 'changed'])).code).toBe(1);
  });

  it('a guardrail removed from an inherited policy is lost by every request, written as one class: *', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', { ...OLD, policies: { ...OLD.policies, baseline: { guardrails: { add: ['toxicity'] } } } });
    const { code, report } = await diffJson(a, b, '--fail-on', 'removed');
    expect(code).toBe(1);
    expect(summary(report.requests)).toEqual(['* => +toxicity -pii']);
    // Naming baseline or hipaa (its child) gives the change too, whatever the model (hipaa's condition splits nothing here).
    expect(summary(report.named_policies)).toEqual(['policy=baseline => +toxicity -pii', 'policy=hipaa => +toxicity -pii']);
  });

  it('a named policy whose conditioned member changes is reported per model class of the condition', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', { ...OLD, policies: { ...OLD.policies, hipaa: { inherit: 'baseline', guardrails: { add: ['toxicity'] }, condition: { model: 'gpt-4.*' } } } });
    const { report } = await diffJson(a, b);
    expect(summary(report.named_policies)).toEqual(['policy=hipaa, model=/gpt-4.*/ => +toxicity -audit']);
    expect(report.named_policies[0]?.classes[0]?.witness).toEqual({ model: 'gpt-4' });
    expect(summary(report.requests)).toEqual(['team=health-*, model=/gpt-4.*/ => +toxicity -audit']);
  });

  it('tag and key wildcards make their own classes, each with a witness of that class', async () => {
    const base: Sections = {
      policies: { pci: { guardrails: { add: ['pii'] } }, dev: { guardrails: { add: ['inj'] } } },
      policy_attachments: [
        { policy: 'pci', tags: ['pci-*'] },
        { policy: 'pci', tags: ['pci-strict'] },
        { policy: 'dev', keys: ['dev-*'] },
      ],
    };
    const a = write('a.json', base);
    const b = write('b.json', {
      policies: { pci: { guardrails: { add: ['pii', 'audit'] } }, dev: { guardrails: { add: ['inj'] } } },
      policy_attachments: [{ policy: 'pci', tags: ['pci-strict'] }, { policy: 'dev', keys: ['dev-*', 'ci-*'] }],
    });
    const { report } = await diffJson(a, b);
    expect(summary(report.requests)).toEqual(['key=ci-* => +inj', 'tag=pci-* => -pii', 'tag=pci-strict => +audit']);
    const byClass = new Map(report.requests.flatMap((g) => g.classes.map((c) => [c.class, c.witness] as const)));
    expect(byClass.get('tag=pci-*')).toEqual({ tags: ['pci-x'] });
    expect(byClass.get('key=ci-*')).toEqual({ key_alias: 'ci-x' });
  });

  it('a model wildcard and a condition split the model classes of a team', async () => {
    const base: Sections = {
      policies: { fast: { guardrails: { add: ['pii'] } }, mini: { guardrails: { add: ['toxicity'] }, condition: { model: '.*-mini' } } },
      policy_attachments: [
        { policy: 'fast', teams: ['search'], models: ['gpt-4*'] },
        { policy: 'mini', teams: ['search'] },
      ],
    };
    const a = write('a.json', base);
    const b = write('b.json', { ...base, policy_attachments: [{ policy: 'fast', teams: ['search'], models: ['gpt-4o*'] }, base.policy_attachments[1]] });
    const { report } = await diffJson(a, b);
    // gpt-4 models other than gpt-4o lose pii; gpt-4o* and other models do not change.
    expect(summary(report.requests)).toEqual(['team=search, model=gpt-4* => -pii']);
    expect(report.requests[0]?.classes[0]?.witness).toEqual({ team_alias: 'search', model: 'gpt-4x' });
  });

  it('reports a pipeline added, changed and removed, and a guardrail moving into a pipeline keeps running', async () => {
    const a = write('a.json', {
      policies: {
        guarded: { guardrails: { add: ['inj', 'pii'] }, pipeline: { mode: 'pre_call', steps: [{ guardrail: 'inj', on_pass: 'next' }, { guardrail: 'pii' }] } },
        plain: { guardrails: { add: ['audit'] } },
        gone: { guardrails: { add: ['toxicity'] }, pipeline: { mode: 'pre_call', steps: [{ guardrail: 'toxicity' }] } },
      },
      policy_attachments: [{ policy: 'guarded', teams: ['a'] }, { policy: 'plain', teams: ['b'] }, { policy: 'gone', teams: ['c'] }],
    });
    const b = write('b.json', {
      policies: {
        guarded: { guardrails: { add: ['inj', 'pii'] }, pipeline: { mode: 'pre_call', steps: [{ guardrail: 'inj', on_fail: 'next' }, { guardrail: 'pii' }] } },
        plain: { guardrails: { add: ['audit'] }, pipeline: { mode: 'post_call', steps: [{ guardrail: 'audit' }] } },
        gone: { guardrails: { add: ['toxicity'] } },
      },
      policy_attachments: [{ policy: 'guarded', teams: ['a'] }, { policy: 'plain', teams: ['b'] }, { policy: 'gone', teams: ['c'] }],
    });
    const { code, report } = await diffJson(a, b, '--fail-on', 'removed');
    expect(code).toBe(0);
    expect(summary(report.requests)).toEqual(['team=a => ~p:guarded', 'team=b => +p:plain', 'team=c => -p:gone']);
    const table = await cli(['diff', a, b]);
    expect(table.stdout).toMatch(/^team=a\s+~guarded$/m);
  });

  it('reports a changed attachment beyond the bound as not enumerated, and the gate fails on it', async () => {
    const teams = Array.from({ length: 6 }, (_, i) => `t-${i}`);
    const keys = Array.from({ length: 6 }, (_, i) => `k-${i}`);
    const base: Sections = {
      policies: { wide: { guardrails: { add: ['pii'] } }, same: { guardrails: { add: ['inj'] } }, solo: { guardrails: { add: ['audit'] } } },
      policy_attachments: [
        ...teams.map((t) => ({ policy: 'solo', teams: [t] })),
        ...keys.map((k) => ({ policy: 'solo', keys: [k] })),
        { policy: 'same', teams: ['t-*'], keys: ['k-*'] },
        { policy: 'wide', teams: ['t-*'], keys: ['k-*'] },
      ],
    };
    const a = write('a.json', base);
    const b = write('b.json', { ...base, policies: { ...base.policies, wide: { guardrails: { add: ['toxicity'] } } } });
    // Within the bound (7 team classes x 7 key classes = 49 cells each) the change is found in every combination.
    const full = await diffJson(a, b);
    expect(full.report.not_enumerated).toEqual([]);
    expect(summary(full.report.requests).filter((l) => l.startsWith('team=t-3, key=k-4'))).toEqual(['team=t-3, key=k-4 => +toxicity -pii']);
    // With 10 cells per attachment, both multi-dimension attachments are cut: the changed one is named.
    const cut = await diffJson(a, b, '--max-cells-per-attachment', '10', '--fail-on', 'removed');
    expect(cut.code).toBe(1);
    expect(cut.report.not_enumerated).toEqual([
      { policy: 'wide', attachment: { policy: 'wide', teams: ['t-*'], keys: ['k-*'] }, reason: 'its lists admit 49 class combinations; the bound lists 10' },
    ]);
    expect(cut.report.unchanged_not_enumerated).toBe(1);
    const table = await cli(['diff', a, b, '--max-cells-per-attachment', '10']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Not enumerated: 1 changed attachment(s) or policies outside the bound:\n  policy wide {teams: ["t-*"], keys: ["k-*"]}: its lists admit 49 class combinations');
    // The witness bound cuts too, and still names the changed attachment.
    const few = await diffJson(a, b, '--max-witnesses', '3');
    expect(few.report.witnesses).toBeLessThanOrEqual(3 + 1);
    expect(few.report.not_enumerated.map((x) => x.policy)).toEqual(['wide']);
  });

  it('prints the JSON report with every class, its witness and the bound figures', async () => {
    const a = write('a.json', OLD);
    const b = write('b.json', { ...OLD, policy_attachments: OLD.policy_attachments.slice(0, 2) });
    const { report } = await diffJson(a, b);
    expect(Object.keys(report).sort()).toEqual(['cells', 'named_policies', 'new', 'not_enumerated', 'old', 'removes_guardrails', 'requests', 'unchanged_not_enumerated', 'witnesses']);
    expect(report.requests).toEqual([
      { classes: [{ class: 'tag=screened', witness: { tags: ['screened'] } }], added: [], removed: ['inj'], pipelines: { added: [], removed: [], changed: [] } },
    ]);
    expect(report.cells).toBe(3);
    expect(report.witnesses).toBeGreaterThanOrEqual(3);
  });

  it('compares a db with a bundle (the db from compile)', async () => {
    const a = write('a.json', OLD);
    const db = path.join(dir, 'prod.db');
    expect((await cli(['compile', a, '-o', db])).code).toBe(0);
    const b = write('b.json', { ...OLD, policies: { ...OLD.policies, screened: { guardrails: { add: ['inj', 'toxicity'] } } } });
    const { code, report } = await diffJson(db, b, '--fail-on', 'removed');
    expect(code).toBe(0);
    expect(summary(report.requests)).toEqual(['tag=screened => +toxicity']);
    const same = await diffJson(db, a, '--fail-on', 'changed');
    expect(same.code).toBe(0);
    // db: forces a db whatever the name; a bundle file read as a db is unreadable (exit 2).
    const renamed = path.join(dir, 'prod-copy');
    fs.copyFileSync(db, renamed);
    expect((await diffJson(`db:${renamed}`, a, '--fail-on', 'changed')).code).toBe(0);
    expect((await cli(['diff', `db:${a}`, b])).code).toBe(2);
  });

  it('exits 2 for a missing side, an invalid bundle or a bad option, before comparing anything', async () => {
    const a = write('a.json', OLD);
    const missing = await cli(['diff', a, path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    const invalid = write('bad.json', { policies: { p: { inherit: 'missing-parent' } }, policy_attachments: [] });
    const r = await cli(['diff', a, invalid, '--fail-on', 'removed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid');
    expect(r.stdout).toBe('');
    expect((await cli(['diff', a, a, '--fail-on', 'weakened'])).code).toBe(2);
    expect((await cli(['diff', a])).stderr).toContain('diff takes two policy sets: OLD NEW');
    expect((await cli(['diff', a, a, '--max-witnesses', '0'])).code).toBe(2);
    const env = await cli(['diff', 'postgres:env:PDP_TEST_NO_SUCH_VAR', a]);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('the variable PDP_TEST_NO_SUCH_VAR is not set');
  });
});
