/** One Dockerfile instruction: its keyword (upper case) and its arguments, continuations joined. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** One build stage: its base image (global ARG defaults substituted), its alias and its instructions. */
export interface Stage {
  readonly from: string;
  readonly alias: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** What the image built by a stage runs as and with. */
export interface StageSummary {
  readonly from: string;
  readonly user: string;
  readonly workdir: string;
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
  readonly expose: readonly number[];
  readonly env: Readonly<Record<string, string>>;
  /** COPY instructions as [sources..., destination], flags (--from, --chown) left out. */
  readonly copies: readonly { readonly from: string | undefined; readonly sources: readonly string[]; readonly dest: string }[];
}

/**
 * Splits a Dockerfile into stages, as the builder reads it: comments dropped, `\` continuations
 * joined, and `${ARG}` in FROM replaced by the global ARG's default. Handles only what our
 * Dockerfile uses (no heredocs, no escape directive); throws on an instruction before any FROM
 * other than ARG.
 */
export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1)} `;
    else {
      lines.push(`${pending}${line}`.trim());
      pending = '';
    }
  }
  const globals = new Map<string, string>();
  const stages: { from: string; alias: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of lines.filter((l) => l !== '')) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', as, alias] = args.split(/\s+/).map((s) => s.replace(/\$\{?(\w+)\}?/g, (_, name: string) => globals.get(name) ?? ''));
      stages.push({ from: image, alias: as?.toUpperCase() === 'AS' ? alias : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (upper !== 'ARG') throw new Error(`${upper} before the first FROM`);
      const [name = '', value = ''] = args.split('=');
      globals.set(name, value);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args });
    }
  }
  return stages;
}

/** The last stage, summarised: the image the build produces. */
export function finalStage(stages: readonly Stage[]): StageSummary {
  const stage = stages.at(-1);
  if (stage === undefined) throw new Error('no FROM in the Dockerfile');
  let user = 'root';
  let workdir = '/';
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  const expose: number[] = [];
  const env: Record<string, string> = {};
  const copies: { from: string | undefined; sources: string[]; dest: string }[] = [];
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'USER') user = args;
    else if (keyword === 'WORKDIR') workdir = args;
    else if (keyword === 'ENTRYPOINT') entrypoint = JSON.parse(args) as string[];
    else if (keyword === 'CMD') cmd = JSON.parse(args) as string[];
    else if (keyword === 'EXPOSE') expose.push(...args.split(/\s+/).map((p) => Number(p.split('/')[0])));
    else if (keyword === 'ENV') {
      for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    } else if (keyword === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      copies.push({ from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' });
    }
  }
  return { from: stage.from, user, workdir, entrypoint, cmd, expose, env, copies };
}
