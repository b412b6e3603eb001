import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/cli/config.js';
import { compile } from '../../src/compile/compile.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';
import { finalStage, parseDockerfile } from './dockerfile.js';
import { finish } from '../../src/steps.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const stages = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const runtime = finalStage(stages);
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
const ignored = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

/** The repository file a path in the runtime image comes from, through the runtime stage's COPY lines. */
function sourceOf(imagePath: string): { from: string | undefined; path: string } | undefined {
  for (const c of [...runtime.copies].reverse()) {
    const dest = posix.resolve(runtime.workdir, c.dest);
    const [source] = c.sources;
    if (c.sources.length !== 1 || source === undefined) continue;
    if (imagePath !== dest && !imagePath.startsWith(`${dest}/`)) continue;
    // The builder's WORKDIR holds the repository's files at their repository paths.
    const builder = c.from === undefined ? undefined : stages.find((s) => s.alias === c.from);
    const relative = builder === undefined ? source : posix.relative(finalStage([builder]).workdir, source);
    return { from: c.from, path: posix.join(relative, imagePath.slice(dest.length)) };
  }
  return undefined;
}

describe('Dockerfile', () => {
  it('builds in one stage and runs in another, on the same Node 20 Debian image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const builder = stages.find((s) => s.alias !== undefined && runtime.copies.some((c) => c.from === s.alias));
    expect(builder).toBeDefined();
    // Same image: the native addon compiled in the builder matches the runtime's glibc and Node ABI.
    expect(runtime.from).toBe(builder?.from);
    expect(runtime.from).toMatch(/^node:20-bookworm(-slim)?$/);
    expect(pkg.engines.node).toMatch(/^>=20\./);
    const builderRuns = builder?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(builderRuns).toContain(tool);
    expect(builderRuns).toMatch(/npm prune --omit=dev|npm ci --omit=dev/);
  });

  it('runs as a numeric non-root user, so the kubelet can verify runAsNonRoot', () => {
    expect(runtime.user).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it('runs nothing at build time in the runtime stage and copies only what serving needs', () => {
    const finalInstructions = stages.at(-1)?.instructions ?? [];
    expect(finalInstructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
    const copied = runtime.copies.flatMap((c) => c.sources.map((s) => posix.normalize(s)));
    for (const s of copied) expect(['package.json', 'node_modules', 'dist', 'examples', 'examples/bundle.yaml']).toContain(s.replace(/^\/app\//, ''));
  });

  it('starts the package bin with source maps and the V8 flags', () => {
    const [node, ...flags] = runtime.entrypoint ?? [];
    expect(node).toBe('node');
    expect(flags).toContain('--enable-source-maps');
    const script = flags.at(-1) ?? '';
    const source = sourceOf(posix.resolve(runtime.workdir, script));
    // dist/ comes from the builder's `npm run build` (tsc -p tsconfig.build.json: src -> dist).
    expect(source?.path).toBe(posix.normalize(pkg.bin['guardrail-pdp'] ?? ''));
    expect(existsSync(`${ROOT}src/cli/main.ts`)).toBe(true);
    expect(existsSync(`${ROOT}${source?.path}`)).toBe(true); // built by `npm test`'s pretest
    expect(`${runtime.env.NODE_OPTIONS ?? ''} ${flags.join(' ')}`).toMatch(/--max-semi-space-size=\d+/);
  });

  it('exposes the default decision API and admin ports', () => {
    const port = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));
    expect([...runtime.expose].sort()).toEqual([port(DEFAULTS.listen), port(DEFAULTS.adminListen)].sort());
  });

  it('serves a bundle baked into the image by default, one that compiles in strict mode', () => {
    expect(runtime.cmd?.[0]).toBe('serve');
    const bundle = runtime.cmd?.[runtime.cmd.indexOf('--bundle') + 1] ?? '';
    const source = sourceOf(bundle);
    expect(source?.from).toBeUndefined(); // from the build context
    const text = readFileSync(`${ROOT}${source?.path}`, 'utf8');
    expect(finish(compile(parseBundleText(text, bundle), { mode: 'strict' })).ok).toBe(true);
  });

  it('keeps host build output out of the context but not the files the build copies', () => {
    for (const p of ['**/node_modules', 'dist', '.git']) expect(ignored).toContain(p);
    const fromContext = stages.flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(fromContext).toContain('src');
    for (const s of fromContext) expect(ignored, s).not.toContain(s.split('/')[0]);
  });
});
