// The machine the figures come from, and CPU pinning: the server under test on one core, the
// load generator (and this orchestrator) on the other, so they do not steal each other's time.
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem, loadavg } from 'node:os';

/** Core of the server under test. */
export const SERVER_CORE = 0;
/** Core of the load generators and the orchestrator. */
export const CLIENT_CORE = 1;

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** True when processes can be pinned: `taskset` exists and there are at least 2 cores. */
export const canPin = hasTaskset && cpus().length >= 2;

/** Prefixes argv with `taskset -c core` when pinning is possible; else returns it unchanged. */
export function pinned(core, argv) {
  return canPin ? ['taskset', '-c', String(core), ...argv] : argv;
}

/** Pins this process (all its threads) to the client core, if possible. */
export function pinSelf() {
  if (canPin) execFileSync('taskset', ['-a', '-cp', String(CLIENT_CORE), String(process.pid)], { stdio: 'ignore' });
}

/** CPU model, cores, memory, Node, kernel and load average, for the results. */
export function describeMachine() {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    pinning: canPin ? `server on core ${SERVER_CORE}, load generators on core ${CLIENT_CORE} (taskset)` : 'none (needs taskset and 2 cores): figures are less reliable',
  };
}
