import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli as run, EXAMPLE } from '../helpers/cli.js';

// What every command shares: --help, and one way to name the bundle.

const cli = (...args: string[]) => run(args);
const dir = mkdtempSync(join(tmpdir(), 'pdp-help-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every command', () => {
  it('answers --help on stdout with exit 0', async () => {
    const commands = ['serve', 'validate', 'compile', 'resolve', 'pipeline', 'test', 'watch', 'health', 'version'];
    const results = await Promise.all(commands.map((c) => cli(c, '--help')));
    results.forEach((r, i) => {
      expect(r.code, commands[i]).toBe(0);
      expect(r.stdout, commands[i]).toContain(`usage: guardrail-pdp ${commands[i]}`);
    });
    expect(results[3]!.stdout).toContain('--tls-ca FILE');
  });

  it('takes the bundle of validate and compile as FILE or --bundle FILE', async () => {
    const [positional, flag, both, compiled] = await Promise.all([
      cli('validate', EXAMPLE),
      cli('validate', '--bundle', EXAMPLE),
      cli('validate', EXAMPLE, '--bundle', EXAMPLE),
      cli('compile', '--bundle', EXAMPLE, '-o', join(dir, 'out.db')),
    ]);
    expect(flag).toEqual(positional);
    expect(flag.code).toBe(0);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('validate takes exactly one bundle file: FILE or --bundle FILE');
    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toContain('out.db: written');
  });
});

