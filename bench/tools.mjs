// The external tools the load sections need, checked before anything runs, so a machine without
// them gets a clear message (and the in-process section) instead of an obscure failure.
import { execFileSync } from 'node:child_process';

/** Debian package that provides each tool, and what it is for. */
export const TOOLS = Object.freeze([
  { name: 'h2load', pkg: 'nghttp2-client', probe: ['h2load', '--version'], for: 'every load section (a C HTTP/2 load generator)' },
  { name: 'taskset', pkg: 'util-linux', probe: ['taskset', '-V'], for: 'pinning the server and the load generator to separate cores' },
]);

const works = (argv) => {
  try {
    execFileSync(argv[0], argv.slice(1), { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Which tools are present; `missing` lists the absent ones. */
export function checkTools() {
  const missing = TOOLS.filter((t) => !works(t.probe));
  return { hasH2load: !missing.some((t) => t.name === 'h2load'), missing };
}

/** The install command for the missing tools (Debian/Ubuntu). */
export function installCommand(missing) {
  return `apt-get update && apt-get install -y ${[...new Set(missing.map((t) => t.pkg))].join(' ')}`;
}

/** Installs the missing tools with apt-get (for --install-tools); throws if that fails. */
export function installTools(missing) {
  execFileSync('sh', ['-c', installCommand(missing)], { stdio: 'inherit' });
}
