import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The Python clients and the LiteLLM hook (clients/python/) are tested with pytest against the real
// sidecar, started from the dist/ that vitest's global setup built. This runs that suite as part of
// `npm test` and fails on any failure, or when the Python packages are missing (never a skip):
// CI installs them (.ci/run). PDP_TEST_PYTHON overrides the interpreter.
const ROOT = new URL('../..', import.meta.url).pathname;
const PYTHON = process.env.PDP_TEST_PYTHON ?? '/usr/bin/python3';
const INSTALL = 'apt-get install -y python3-grpcio python3-protobuf python3-pytest';

describe('the Python clients and the LiteLLM hook (pytest clients/python)', () => {
  it('pass', { timeout: 300_000 }, async () => {
    expect(existsSync(PYTHON), `${PYTHON} is missing: ${INSTALL}`).toBe(true);
    const run = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        PYTHON,
        ['-m', 'pytest', 'clients/python', '-q', '-p', 'no:cacheprovider'],
        { cwd: ROOT, env: { ...process.env, PDP_TEST_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, output: `${stdout}${stderr}` }),
      ),
    );
    expect(run.output, `pytest failed (needs: ${INSTALL}):\n${run.output}`).toMatch(/\d+ passed/);
    expect(run.code, run.output).toBe(0);
  });
});
