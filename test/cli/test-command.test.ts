import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli as run, EXAMPLE } from '../helpers/cli.js';

const cli = (...args: string[]) => run(args);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SECRET = 'hunter2-prompt';

const BUNDLE = `guardrails:
  - guardrail_name: email_mask
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{ pattern_type: prebuilt, pattern_name: email, action: MASK }]
  - guardrail_name: secrets
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{ pattern_type: prebuilt, pattern_name: aws_access_key, action: BLOCK }]
  - { guardrail_name: pii, litellm_params: { guardrail: presidio } }
  - { guardrail_name: audit, litellm_params: { guardrail: custom } }
policies:
  base:
    guardrails: { add: [pii] }
  health:
    guardrails: { add: [audit] }
    condition: { model: "gpt-4.*" }
  masking:
    guardrails: { add: [email_mask, secrets] }
    pipeline:
      steps:
        - { guardrail: email_mask, on_pass: next, pass_data: true }
        - { guardrail: secrets, on_pass: allow, on_fail: modify_response, modify_response_message: "no keys" }
  named:
    guardrails: { add: [secrets] }
policy_attachments:
  - { policy: base, scope: "*" }
  - { policy: health, teams: ["health-*"] }
  - { policy: masking, models: [gpt-4] }
`;

/** A temp dir holding bundle.yaml (BUNDLE unless given) and `files`; returns its path. */
function workspace(files: Record<string, string>, bundle = BUNDLE): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdp-cli-test-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'bundle.yaml'), bundle);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

// Cases that pass against BUNDLE, one per expectable field.
const PASSING = `cases:
  - name: a health team on gpt-4
    context: { team_alias: health-a, model: gpt-4 }
    expect:
      guardrails: [audit, pii]
      applied_policies: [base, health, masking]
      matched_via: { masking: "model:gpt-4", base: "scope:*", health: "team:health-a" }
      pipelines: [masking]
      pipeline_managed_guardrails: [email_mask, secrets]
  - name: a named policy adds its guardrails
    context: { model: gpt-3.5 }
    request_policies: [named]
    expect: { guardrails: [pii, secrets], applied_policies: [base, named] }
  - name: masking
    policy: masking
    messages: [{ role: user, content: "mail bob@example.com ${SECRET}" }]
    expect:
      action: ALLOW
      messages: [{ role: user, content: "mail [EMAIL_REDACTED] ${SECRET}" }]
      steps:
        - { guardrail: email_mask, outcome: PASS, action: NEXT }
        - { guardrail: secrets, outcome: PASS, action: ALLOW, detail: "" }
      error_message: ""
  - name: a post-call pipeline masks the response
    pipeline:
      mode: POST_CALL
      steps: [{ guardrail: email_mask, on_pass: ALLOW, pass_data: true }]
    response_text: "write to bob@example.com"
    expect: { response_text: "write to [EMAIL_REDACTED]" }
  - name: a key is replaced
    policy: masking
    messages: [{ role: user, content: "AKIAIOSFODNN7EXAMPLE" }]
    expect:
      action: MODIFY_RESPONSE
      modify_response_message: "no keys"
      steps: [{ guardrail: email_mask, outcome: PASS }, { guardrail: secrets, outcome: FAIL, action: MODIFY_RESPONSE }]
`;

describe('guardrail-pdp test: passing suites', () => {
  it('runs the example suite beside examples/bundle.yaml, every case passing', async () => {
    const r = await cli('test', EXAMPLE);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^10 passed, 0 failed \(1 suite; revision [0-9a-f]{16}\)\n$/);
    expect(r.code).toBe(0);
  });

  it('exits 0 when every expectation of every kind holds, with BUNDLE or --bundle', async () => {
    const dir = workspace({ 'ok.yaml': PASSING });
    const [positional, flag] = await Promise.all([
      cli('test', join(dir, 'bundle.yaml'), join(dir, 'ok.yaml')),
      cli('test', '--bundle', join(dir, 'bundle.yaml'), join(dir, 'ok.yaml')),
    ]);
    for (const r of [positional, flag]) {
      expect(r.stdout).toMatch(/^5 passed, 0 failed \(1 suite; revision /);
      expect(r.code).toBe(0);
    }
  });

  it('finds the *_test.yaml files beside the bundle, in name order, and nothing else', async () => {
    const one = (name: string) => `cases:\n  - { name: ${name}, expect: { guardrails: [] } }\n`;
    const dir = workspace({ 'b_test.yaml': one('b'), 'a_test.yaml': one('a'), 'c_test.yml': 'not: [yaml', 'notes.yaml': 'not: [yaml' });
    const r = await cli('test', join(dir, 'bundle.yaml'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${join(dir, 'a_test.yaml')}:2:38: case "a": guardrails expected [], got ["pii"]\n` +
        `${join(dir, 'b_test.yaml')}:2:38: case "b": guardrails expected [], got ["pii"]\n` +
        `0 passed, 2 failed (2 suites; revision ${revisionOf(r.stdout)})\n`,
    );
  });

  it('tests a db (--db), finding the suites beside it', async () => {
    const dir = workspace({});
    const db = join(dir, 'policies.db');
    expect((await cli('compile', join(dir, 'bundle.yaml'), '-o', db)).code).toBe(0);
    rmSync(join(dir, 'bundle.yaml'));
    writeFileSync(join(dir, 'policies_test.yaml'), PASSING);
    const r = await cli('test', '--db', db);
    expect(r.stdout).toMatch(/^5 passed, 0 failed \(1 suite; /);
    expect(r.code).toBe(0);
  });
});

describe('guardrail-pdp test: failing cases', () => {
  it('prints one line per unmet expectation, FILE:LINE:COLUMN: case "NAME": FIELD expected X, got Y, and exits 1', async () => {
    const suite = `cases:
  - name: resolve fields
    context: { team_alias: health-a, model: gpt-4 }
    expect:
      guardrails: [pii]
      applied_policies: [base]
      matched_via: { base: "scope:*" }
      pipelines: []
      pipeline_managed_guardrails: [secrets]
  - name: pipeline fields
    policy: masking
    messages: [{ role: user, content: "mail bob@example.com ${SECRET}" }]
    expect:
      action: BLOCK
      messages: [{ role: user, content: "mail bob@example.com ${SECRET}" }]
      steps: [{ guardrail: email_mask, outcome: FAIL }]
      response_text: "x"
      error_message: "blocked"
      modify_response_message: "no keys"
  - name: still passing
    context: { model: gpt-3.5 }
    expect: { guardrails: [pii] }
`;
    const dir = workspace({ 'f_test.yaml': suite });
    const r = await cli('test', join(dir, 'bundle.yaml'));
    const f = join(dir, 'f_test.yaml');
    expect(r.stdout.split('\n')).toEqual([
      `${f}:5:19: case "resolve fields": guardrails expected ["pii"], got ["audit","pii"]`,
      `${f}:6:25: case "resolve fields": applied_policies expected ["base"], got ["base","health","masking"]`,
      `${f}:7:20: case "resolve fields": matched_via expected {"base":"scope:*"}, got {"base":"scope:*","health":"team:health-a","masking":"model:gpt-4"}`,
      `${f}:8:18: case "resolve fields": pipelines expected [], got ["masking"]`,
      `${f}:9:36: case "resolve fields": pipeline_managed_guardrails expected ["secrets"], got ["email_mask","secrets"]`,
      `${f}:14:15: case "pipeline fields": action expected "BLOCK", got "ALLOW"`,
      `${f}:15:17: case "pipeline fields": messages expected [{"role":"user","content":"mail bob@example.com ${SECRET}"}], got [{"role":"user","content":"mail [EMAIL_REDACTED] ${SECRET}"}]`,
      `${f}:16:14: case "pipeline fields": steps expected [{"guardrail":"email_mask","outcome":"FAIL"}], got [{"guardrail":"email_mask","outcome":"PASS"},{"guardrail":"secrets","outcome":"PASS","action":"ALLOW"}]`,
      `${f}:17:22: case "pipeline fields": response_text expected "x", got (absent)`,
      `${f}:18:22: case "pipeline fields": error_message expected "blocked", got ""`,
      `${f}:19:32: case "pipeline fields": modify_response_message expected "no keys", got ""`,
      `1 passed, 2 failed (1 suite; revision ${revisionOf(r.stdout)})`,
      '',
    ]);
    expect(r.code).toBe(1);
    // The prompt text is in the failure lines the user asked for, and nowhere else.
    expect(r.stderr).not.toContain(SECRET);
  });

  it('compares exactly: lists in order and in full, steps in number, maps in full (keys in any order)', async () => {
    const resolveCase = (name: string, expectation: string) =>
      `  - name: ${name}\n    context: { team_alias: health-a, model: gpt-4 }\n    expect: ${expectation}\n`;
    const pipelineCase = (name: string, steps: string) => `  - name: ${name}\n    policy: masking\n    messages: []\n    expect: { steps: ${steps} }\n`;
    const passing = [
      resolveCase('the same list', '{ guardrails: [audit, pii] }'),
      resolveCase('a map in another key order', '{ matched_via: { masking: "model:gpt-4", health: "team:health-a", base: "scope:*" } }'),
      pipelineCase('every step', '[{ guardrail: email_mask, outcome: PASS }, { guardrail: secrets, outcome: PASS }]'),
    ];
    const failing: [string, string][] = [
      ['a subset', resolveCase('a subset', '{ guardrails: [audit] }')],
      ['a superset', resolveCase('a superset', '{ guardrails: [audit, pii, secrets] }')],
      ['another order', resolveCase('another order', '{ applied_policies: [health, base, masking] }')],
      ['a map missing an entry', resolveCase('a map missing an entry', '{ matched_via: { base: "scope:*", health: "team:health-a" } }')],
      ['a pattern for a name', resolveCase('a pattern for a name', '{ matched_via: { base: "scope:*", health: "team:health-*", masking: "model:gpt-4" } }')],
      ['too few steps', pipelineCase('too few steps', '[{ guardrail: email_mask, outcome: PASS }]')],
      ['a wrong step action', pipelineCase('a wrong step action', '[{ guardrail: email_mask, outcome: PASS, action: ALLOW }, { guardrail: secrets, outcome: PASS }]')],
      ['a wrong step detail', pipelineCase('a wrong step detail', '[{ guardrail: email_mask, outcome: PASS, detail: "x" }, { guardrail: secrets, outcome: PASS }]')],
    ];
    const dir = workspace({ 'exact_test.yaml': `cases:\n${[...passing, ...failing.map(([, text]) => text)].join('')}` });
    const r = await cli('test', join(dir, 'bundle.yaml'));
    const failed = r.stdout.split('\n').flatMap((line) => /: case "([^"]+)": /.exec(line)?.[1] ?? []);
    expect(failed).toEqual(failing.map(([name]) => name));
    expect(r.stdout).toContain('3 passed, 8 failed');
    expect(r.code).toBe(1);
  });

  it('fails a case the engine cannot answer with this bundle (an unknown policy), with the reason', async () => {
    const dir = workspace({ 'x_test.yaml': 'cases:\n  - name: gone\n    policy: removed\n    expect: { action: BLOCK }\n' });
    const r = await cli('test', join(dir, 'bundle.yaml'));
    expect(r.stdout).toContain(`${join(dir, 'x_test.yaml')}:2:5: case "gone": error: policy 'removed' not found in revision`);
    expect(r.stdout).toContain('0 passed, 1 failed');
    expect(r.code).toBe(1);
  });
});

describe('guardrail-pdp test: bad suites and bundles exit 2', () => {
  it('reports every issue of every suite with file, line and column, on stderr, running nothing', async () => {
    const bad = `cases:
  - name: typo
    contxt: { team_alias: x }
    expect: { guardrails: [] }
  - name: wrong types
    context: { team_alias: 3 }
    expect: { guardrails: pii, matched_via: [a] }
  - name: wrong kind
    policy: masking
    request_policies: [named]
    expect: { guardrails: [], action: block, steps: [{ guardrail: g }] }
  - name: typo
    expect: {}
  - name: both targets
    policy: masking
    pipeline: { steps: [{ guardrail: secrets, on_fail: STOP }] }
    expect: { action: ALLOW }
  - name: dup
    context: {}
    context: { model: m }
    expect: { guardrails: [] }
`;
    const dir = workspace({ 'bad.yaml': bad, 'broken.yaml': `cases:\n  - name: a\n    context: { model: [gpt\n` });
    const r = await cli('test', join(dir, 'bundle.yaml'), join(dir, 'bad.yaml'), join(dir, 'broken.yaml'));
    const b = join(dir, 'bad.yaml');
    const lines = r.stderr.trim().split('\n');
    expect(lines.slice(0, 12)).toEqual([
      `${b}:3:5: bad suite: unknown key 'contxt' in a resolve case; expected one of name, context, request_policies, key_policies, team_policies, expect`,
      `${b}:6:28: bad suite: case.context.team_alias must be a string`,
      `${b}:7:27: bad suite: expect.guardrails must be a list of names (strings)`,
      `${b}:7:45: bad suite: expect.matched_via must be a mapping of policy names to how each matched (e.g. "team:health-*")`,
      `${b}:10:5: bad suite: unknown key 'request_policies' in a pipeline case (it belongs to a resolve case); expected one of name, policy, pipeline, mode, messages, response_text, context, expect`,
      `${b}:11:15: bad suite: unknown key 'guardrails' in the expect: of a pipeline case (it belongs to a resolve case); expected one of action, steps, messages, response_text, error_message, modify_response_message`,
      `${b}:11:39: bad suite: expect.action must be one of ALLOW, BLOCK, MODIFY_RESPONSE`,
      `${b}:11:54: bad suite: expect.steps[0].outcome must be one of PASS, FAIL, ERROR`,
      `${b}:12:11: bad suite: case name 'typo' is used twice in this suite; give each case its own name`,
      `${b}:13:13: bad suite: a resolve case needs expect: a mapping with at least one of guardrails, applied_policies, pipelines, pipeline_managed_guardrails, matched_via`,
      `${b}:14:5: bad suite: a pipeline case gives policy (a policy name) or pipeline (an inline pipeline), not both`,
      `${b}:20:5: bad suite: duplicate key 'context'; give each key once`,
    ]);
    const broken = `${join(dir, 'broken.yaml')}:4:1: bad suite: `;
    expect(lines.slice(12)).toEqual([
      `${broken}Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${broken}Flow map in block collection must be sufficiently indented and end with a }`,
      '14 suite issues; no case was run',
    ]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });

  it('points at the field of an inline pipeline the server would refuse', async () => {
    const dir = workspace({ 's.yaml': 'cases:\n  - name: p\n    pipeline: { steps: [{ guardrail: secrets, on_fail: STOP }] }\n    expect: { action: ALLOW }\n' });
    const r = await cli('test', join(dir, 'bundle.yaml'), join(dir, 's.yaml'));
    expect(r.stderr).toContain(`${join(dir, 's.yaml')}:3:56: bad suite: case.pipeline.steps[0].on_fail must be one of ACTION_UNSPECIFIED, ALLOW, BLOCK, NEXT, MODIFY_RESPONSE`);
    expect(r.code).toBe(2);
  });

  it.each([
    ['an empty file', '', ':1:1: bad suite: a suite must be a mapping with a cases: list'],
    ['no cases', 'tests: []\n', ":1:1: bad suite: unknown key 'tests' in the suite; expected one of cases"],
    ['an empty case list', 'cases: []\n', ':1:8: bad suite: cases: is empty; give at least one case'],
    ['a case that is not a mapping', 'cases: [just a name]\n', ':1:9: bad suite: a case must be a mapping: name:, the request, and expect:'],
    ['a typo a YAML merge brings in', 'cases:\n  - &a { name: a, contxt: {}, expect: { guardrails: [] } }\n  - { <<: *a, name: b }\n', ":3:5: bad suite: unknown key 'contxt' in a resolve case"],
    ['a message without content', 'cases:\n  - { name: m, policy: p, expect: { messages: [{ role: user }] } }\n', ':2:48: bad suite: expect.messages[0].content must be a string'],
  ])('exits 2 for %s', async (_what, text, message) => {
    const dir = workspace({ 's.yaml': text });
    const r = await cli('test', join(dir, 'bundle.yaml'), join(dir, 's.yaml'));
    expect(r.stderr).toContain(`${join(dir, 's.yaml')}${message}`);
    expect(r.code).toBe(2);
  });

  it('refuses a suite over the size bound and a run over the case bound, saying which bound', async () => {
    const dir = workspace({});
    writeFileSync(join(dir, 'big.yaml'), Buffer.alloc(16 * 1024 * 1024 + 1, '#'));
    const many = `cases:\n${Array.from({ length: 10_001 }, (_v, i) => `  - { name: c${i}, expect: { guardrails: [pii] } }\n`).join('')}`;
    writeFileSync(join(dir, 'many.yaml'), many);
    const [big, tooMany] = await Promise.all([
      cli('test', join(dir, 'bundle.yaml'), join(dir, 'big.yaml')),
      cli('test', join(dir, 'bundle.yaml'), join(dir, 'many.yaml')),
    ]);
    expect(big.stderr).toContain(`${join(dir, 'big.yaml')}: bad suite: cannot read the suite: it is 16777217 bytes; a suite may have at most 16777216 bytes`);
    expect(big.code).toBe(2);
    expect(tooMany.stderr).toContain(`${join(dir, 'many.yaml')}:2:3: bad suite: cases: has 10001 cases; at most 10000 are run`);
    expect(tooMany.code).toBe(2);
  });

  it('exits 2, not 1, for a bundle that does not compile, with its issues on stderr', async () => {
    const dir = workspace({ 'x_test.yaml': 'cases:\n  - { name: a, expect: { guardrails: [] } }\n' }, 'policies:\n  p:\n    inherit: missing\n');
    const r = await cli('test', join(dir, 'bundle.yaml'));
    expect(r.stderr).toContain('error invalid_inheritance');
    expect(r.stderr).toContain(`${join(dir, 'bundle.yaml')}: invalid (1 error`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    const compat = await cli('test', join(dir, 'bundle.yaml'), '--mode', 'compat');
    expect(compat.stdout).toMatch(/^1 passed, 0 failed/);
    expect(compat.code).toBe(0);
  });

  it('exits 2 for an unreadable bundle, no suites found, or a bad command line', async () => {
    const dir = workspace({ 'suite.yaml': 'cases:\n  - { name: a, expect: { guardrails: [pii] } }\n' });
    const [missing, none, noBundle, both] = await Promise.all([
      cli('test', join(dir, 'missing.yaml'), join(dir, 'suite.yaml')),
      cli('test', join(dir, 'bundle.yaml')),
      cli('test'),
      cli('test', '--bundle', join(dir, 'bundle.yaml'), '--db', join(dir, 'x.db')),
    ]);
    expect(missing.stderr).toContain(join(dir, 'missing.yaml'));
    expect(missing.code).toBe(2);
    expect(none.stderr).toBe(`no test suites: give SUITE files, or put *_test.yaml files beside bundle.yaml in ${dir}\n`);
    expect(none.code).toBe(2);
    expect(noBundle.stderr).toContain('give the bundle: BUNDLE, --bundle FILE or --db FILE.db');
    expect(noBundle.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --bundle or --db');
    expect(both.code).toBe(2);
  });
});

describe('guardrail-pdp test --junit', () => {
  it('writes JUnit XML that parses: a testsuite per file, a testcase per case, a failure with its message, every string escaped', async () => {
    const odd = `<&"'> \u0001 tab\there`;
    const suite = `cases:
  - name: passes
    context: { model: gpt-3.5 }
    expect: { guardrails: [pii] }
  - name: ${JSON.stringify(odd)}
    context: { model: gpt-3.5 }
    expect: { applied_policies: [${JSON.stringify(odd)}] }
`;
    const dir = workspace({ 'a_test.yaml': suite, 'b_test.yaml': 'cases:\n  - { name: only, expect: { guardrails: [pii] } }\n' });
    const r = await cli('test', join(dir, 'bundle.yaml'), '--junit', join(dir, 'junit.xml'));
    expect(r.code).toBe(1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const parsed = JSON.parse(
      execFileSync('python3', ['-c', PARSE_JUNIT, join(dir, 'junit.xml')], { encoding: 'utf8' }),
    ) as JunitTree;
    const a = join(dir, 'a_test.yaml');
    const b = join(dir, 'b_test.yaml');
    const shown = odd.replace('\u0001', '\uFFFD');
    expect(parsed).toEqual({
      attrs: { name: 'guardrail-pdp test', tests: '3', failures: '1', errors: '0' },
      suites: [
        {
          attrs: { name: a, file: a, tests: '2', failures: '1', errors: '0', skipped: '0' },
          cases: [
            { attrs: { name: 'passes', classname: a, file: a, line: '2' }, failures: [] },
            {
              attrs: { name: shown, classname: a, file: a, line: '5' },
              failures: [
                {
                  // Values are JSON in the messages, so only the name attribute carries the raw control character.
                  message: `applied_policies expected ${JSON.stringify([odd])}, got ["base"]`,
                  type: 'mismatch',
                  text: `${a}:7:33: case ${JSON.stringify(odd)}: applied_policies expected ${JSON.stringify([odd])}, got ["base"]`,
                },
              ],
            },
          ],
        },
        {
          attrs: { name: b, file: b, tests: '1', failures: '0', errors: '0', skipped: '0' },
          cases: [{ attrs: { name: 'only', classname: b, file: b, line: '2' }, failures: [] }],
        },
      ],
    });
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
  });

  it('exits 2 when the report cannot be written', async () => {
    const dir = workspace({ 'a_test.yaml': 'cases:\n  - { name: a, expect: { guardrails: [pii] } }\n' });
    const r = await cli('test', join(dir, 'bundle.yaml'), '--junit', join(dir, 'no-such-dir', 'junit.xml'));
    expect(r.stdout).toContain('1 passed, 0 failed');
    expect(r.stderr).toContain(`--junit: cannot write ${join(dir, 'no-such-dir', 'junit.xml')}: ENOENT`);
    expect(r.code).toBe(2);
  });
});

interface JunitTree {
  attrs: Record<string, string>;
  suites: { attrs: Record<string, string>; cases: { attrs: Record<string, string>; failures: Record<string, string>[] }[] }[];
}

// Parsed by a real XML parser (Python's, which the Python client tests already need); times are dropped.
const PARSE_JUNIT = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites'
strip = lambda e: {k: v for k, v in e.attrib.items() if k != 'time'}
print(json.dumps({'attrs': strip(root), 'suites': [
  {'attrs': strip(s), 'cases': [
    {'attrs': strip(c), 'failures': [dict(f.attrib, text=f.text) for f in c.findall('failure')]}
    for c in s.findall('testcase')]}
  for s in root.findall('testsuite')]}))
`;

function revisionOf(stdout: string): string {
  return /revision ([0-9a-f]{16})\)/.exec(stdout)?.[1] ?? 'none';
}
