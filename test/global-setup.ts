import { execFileSync } from 'node:child_process';

/**
 * vitest's global setup: builds dist/ from the sources under test, once, before any test runs.
 * Two things a test starts cannot run TypeScript: the loader thread (a worker thread) and the CLI
 * (a child process). Both run dist/, so building here means they run the code being tested, never
 * a stale build, however vitest was started (`npm test`, `npx vitest`, one file or all).
 */
export default function buildDist(): void {
  execFileSync(process.execPath, [new URL('../scripts/build.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}
