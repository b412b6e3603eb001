// Starts the server under test as its own process, pinned to the server core: the real CLI
// (`node <flags> dist/cli/main.js serve --bundle FILE`) or the bare grpc-js server (the ceiling).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { SERVER_CORE, pinned } from './machine.mjs';

/** USER_HZ: the unit of /proc/PID/stat's utime and stime (100 on Linux for x86 and arm64). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Splits a flags string such as "--max-semi-space-size=4 --single-threaded-gc" into argv. */
export function splitFlags(flags) {
  return (flags ?? '').split(/\s+/).filter((f) => f !== '');
}

/**
 * A running server under test. `start` resolves once it listens (for `pdp`: after its first
 * activation). `activations` collects the real server's "snapshot activated" log records.
 */
export class ServerUnderTest {
  /** @param {{ kind: 'pdp' | 'bare', flags?: string, workload: { bundlePath: string, cannedPath: string }, listen?: string, extraArgs?: string[] }} options */
  static async start(options) {
    const server = new ServerUnderTest(options);
    await server.#ready;
    return server;
  }

  activations = [];
  address = '';
  /** The admin HTTP address (real server only), for /metrics. */
  adminAddress = '';
  #child;
  #ready;
  #exited;

  constructor({ kind, flags, workload, listen = '127.0.0.1:0', extraArgs = [] }) {
    const node = [process.execPath, ...splitFlags(flags)];
    const args = kind === 'pdp'
      ? [...node, 'dist/cli/main.js', 'serve', '--bundle', workload.bundlePath, '--listen', listen, '--admin-listen', '127.0.0.1:0', '--log-level', 'info', ...extraArgs]
      : [...node, 'bench/bare-server.mjs', '--canned', workload.cannedPath, '--listen', listen];
    // No PDP_* variables from the caller's environment: the flags above are the whole config.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PDP_')));
    const [cmd, ...rest] = pinned(SERVER_CORE, args);
    this.#child = spawn(cmd, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = new Promise((r) => this.#child.once('exit', (code, signal) => r({ code, signal })));
    let stderr = '';
    this.#child.stderr.on('data', (c) => { stderr = (stderr + c.toString()).slice(-4000); });
    this.#ready = new Promise((resolve, reject) => {
      let buf = '';
      this.#child.stdout.on('data', (chunk) => {
        buf += chunk.toString();
        for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let rec;
          try { rec = JSON.parse(line); } catch { continue; }
          if (rec.msg === 'snapshot activated') this.activations.push({ atMs: rec.time, durationMs: rec.durationMs, loadMs: rec.loadMs, revision: rec.revision }); // atMs: epoch ms, when it finished
          if (rec.msg === 'decision API listening') this.address = rec.address;
          if (rec.msg === 'admin HTTP listening') this.adminAddress = rec.address;
          // The real server opens its admin port right after the decision API.
          if (this.address !== '' && (kind === 'bare' || this.adminAddress !== '')) resolve();
        }
      });
      this.#exited.then(({ code, signal }) => reject(new Error(`${kind} server exited (${code ?? signal}) before listening:\n${stderr}`)));
    });
  }

  /** The server process's id (taskset execs node in place, so this is node's). */
  get pid() {
    return this.#child.pid;
  }

  /** Resident set size in MB, from /proc (undefined once the process is gone). */
  rssMb() {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * CPU time the process has used so far, all threads, in µs: `ticksUs` from /proc/PID/stat
   * (utime + stime, in clock ticks of 10 ms) and `schedUs` from each thread's
   * /proc/PID/task/TID/schedstat (nanoseconds; threads that have exited are not counted).
   */
  cpuUs() {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    const ticksUs = (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS_PER_SECOND);
    let schedNs = 0;
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      try {
        schedNs += Number(readFileSync(`/proc/${this.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    return { ticksUs, schedUs: schedNs / 1000 };
  }

  /** Samples RSS every `everyMs` until the returned function is called; it returns { maxMb, lastMb }. */
  sampleRss(everyMs = 200) {
    let maxMb = this.rssMb() ?? 0;
    let lastMb = maxMb;
    const timer = setInterval(() => {
      lastMb = this.rssMb() ?? lastMb;
      maxMb = Math.max(maxMb, lastMb);
    }, everyMs);
    return () => {
      clearInterval(timer);
      return { maxMb, lastMb };
    };
  }

  /**
   * Resolve calls handled so far by gRPC status name, from the real server's
   * `grpc_server_handled_total`; undefined for the bare server or a build without that series.
   */
  async resolveCodes() {
    if (this.adminAddress === '') return undefined;
    const text = await fetch(`http://${this.adminAddress}/metrics`).then((r) => r.text(), () => '');
    const codes = {};
    for (const m of text.matchAll(/^grpc_server_handled_total\{([^}]*)\} (\S+)$/gm)) {
      if (!m[1].includes('grpc_method="Resolve"')) continue;
      const code = /grpc_code="([A-Z_]+)"/.exec(m[1])?.[1];
      if (code !== undefined) codes[code] = (codes[code] ?? 0) + Number(m[2]);
    }
    return Object.keys(codes).length > 0 ? codes : undefined;
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  async stop() {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Starts a server, runs `fn(server)`, and always stops the server. */
export async function withServer(options, fn) {
  const server = await ServerUnderTest.start(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** Calls per gRPC status since `before` (both from `resolveCodes`); undefined when unknown. */
export function codesSince(before, after) {
  if (after === undefined) return undefined;
  const out = {};
  for (const [code, n] of Object.entries(after)) if (n - (before?.[code] ?? 0) > 0) out[code] = n - (before?.[code] ?? 0);
  return out;
}
