import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { PdpError } from '../../src/errors.js';
import type { Bundle } from '../../src/model/bundle.js';
import type { PolicySource } from '../../src/sources/source.js';
import { finish } from '../../src/steps.js';

/**
 * What the contract writes:
 * - `initial`: a valid bundle (strict mode) defining the policy `alpha`, and no `beta`;
 * - `changed`: a valid bundle defining `beta`, and no `alpha`;
 * - `bad`: a file the source cannot parse or that is not a bundle of its kind (load rejects with
 *   BUNDLE_INVALID).
 */
export type ContractVariant = 'initial' | 'changed' | 'bad';

export interface SourceContractFixture {
  /**
   * Writes `variant` at the source's file in `dir`, the way the source's producers do (the
   * same path every time), and returns that path.
   */
  write(dir: string, variant: ContractVariant): Promise<string>;
  /** The source under test for `file`, with a short debounce (50 ms or less). */
  create(file: string): PolicySource;
}

/** How long the contract waits for `watch` to report a change. */
const CHANGE_WITHIN_MS = 2000;

/**
 * One suite every PolicySource passes (load, change, bad file, deletion), run by each source's
 * own test file: `describeSourceContract('createBundleFileSource', { write, create })`.
 */
export function describeSourceContract(name: string, fixture: SourceContractFixture): void {
  describe(`${name} (source contract)`, () => {
    let dir: string;
    let stops: (() => Promise<void>)[];
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-contract-'));
      stops = [];
    });
    afterEach(async () => {
      await Promise.all(stops.map((stop) => stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Starts watching; `changes()` counts onChange calls. */
    function watch(source: PolicySource): { changes: () => number; stop: () => Promise<void> } {
      expect(source.watch).toBeDefined();
      let changes = 0;
      const stop = source.watch!(() => changes++);
      stops.push(stop);
      return { changes: () => changes, stop };
    }

    it('loads a valid bundle with its origin and a sha256 content hash', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      const bundle = await source.load();
      expect(source.origin).toBe(file);
      expect(bundle.origin).toBe(file);
      expect(bundle.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(policyNames(bundle)).toContain('alpha');
    });

    it('gives the same hash when loading unchanged content again', async () => {
      const source = fixture.create(await fixture.write(dir, 'initial'));
      expect((await source.load()).hash).toBe((await source.load()).hash);
    });

    it('reports a change through watch, and then loads the new content with a new hash', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      const before = await source.load();
      const w = watch(source);
      await fixture.write(dir, 'changed');
      await until(() => w.changes() > 0, CHANGE_WITHIN_MS, 'watch to report the change');
      const after = await source.load();
      expect(after.hash).not.toBe(before.hash);
      expect(policyNames(after)).toContain('beta');
      expect(policyNames(after)).not.toContain('alpha');
    });

    it('rejects a bad file with PdpError BUNDLE_INVALID', async () => {
      const source = fixture.create(await fixture.write(dir, 'bad'));
      const err = await source.load().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PdpError);
      expect((err as PdpError).code).toBe('BUNDLE_INVALID');
    });

    it('loads again once a bad file is replaced by a good one', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      await source.load();
      await fixture.write(dir, 'bad');
      await expect(source.load()).rejects.toBeInstanceOf(PdpError);
      await fixture.write(dir, 'changed');
      expect(policyNames(await source.load())).toContain('beta');
    });

    it('rejects with SOURCE_UNAVAILABLE, naming the path, once the file is deleted', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      await source.load();
      fs.rmSync(file);
      const err = await source.load().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PdpError);
      expect((err as PdpError).code).toBe('SOURCE_UNAVAILABLE');
      expect((err as PdpError).message).toContain(file);
    });

    it('reports a deletion through watch, so the failed reload is recorded', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      await source.load();
      const w = watch(source);
      fs.rmSync(file);
      await until(() => w.changes() > 0, CHANGE_WITHIN_MS, 'watch to report the deletion');
    });

    it('reports nothing after its stop function resolves', async () => {
      const file = await fixture.write(dir, 'initial');
      const source = fixture.create(file);
      await source.load();
      const w = watch(source);
      await w.stop();
      const seen = w.changes();
      await fixture.write(dir, 'changed');
      await sleep(500);
      expect(w.changes()).toBe(seen);
    });
  });
}

/** The policy names of a bundle, as compile sees them (strict mode; the bundle must be valid). */
function policyNames(bundle: Bundle): string[] {
  const result = finish(compile(bundle, { mode: 'strict' }));
  if (!result.ok) throw new Error(`the fixture's bundle does not compile: ${result.issues.map((i) => i.message).join('; ')}`);
  return [...result.snapshot.policies.keys()];
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
