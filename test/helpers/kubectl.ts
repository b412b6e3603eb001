import { execFileSync } from 'node:child_process';

/**
 * Whether a kubectl client is on the PATH: the tests that compare with `kubectl kustomize` or
 * `kubectl set env --local` run only then (kubectl is not a dependency; nothing needs a cluster).
 */
export const HAS_KUBECTL: boolean = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
