import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Issue_Severity, WatchEvent_Kind, type WatchEvent } from '../../src/gen/guardrail/pdp/v1/watch.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../src/gen/health/v1/health.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';
import { nextRevision, openWatch, waitFor, type WatchReader } from '../helpers/watch.js';

/** A valid bundle: one guardrail, one policy attached globally. Different names give different revisions. */
function bundle(guardrail: string): string {
  return `guardrails:
  - guardrail_name: ${guardrail}
    litellm_params: { guardrail: presidio, mode: pre_call }
policies:
  base:
    guardrails:
      add: [${guardrail}]
policy_attachments:
  - policy: base
    scope: "*"
`;
}

/** The first half of a valid bundle, as a reader may see a file mid-write: unparseable YAML. */
const HALF_WRITTEN = bundle('g2').slice(0, bundle('g2').indexOf('mode:') + 8);

/** Parses, but two policies inherit from parents that do not exist. */
const INVALID = `policies:
  a: { inherit: missing }
  b: { inherit: also-missing }
`;

/** Long enough for a debounced (50 ms) reload to have happened if one were coming. */
const QUIET_MS = 600;

let dir: string;
let file: string;
let s: Started;
let readers: WatchReader[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdp-reload-'));
  file = path.join(dir, 'bundle.yaml');
  readers = [];
});

afterEach(async () => {
  for (const r of readers) r.cancel();
  await s?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(content = bundle('g1')): Promise<Started> {
  if (!fs.existsSync(file)) fs.writeFileSync(file, content);
  s = await startApp(file);
  return s;
}

/** Opens a Watch stream on the app's client; afterEach cancels it. */
function watch(knownRevision = ''): WatchReader {
  const reader = openWatch(s.client, knownRevision);
  readers.push(reader);
  return reader;
}

/** Opens a Watch stream and takes its first event (the current snapshot). */
async function watchFromCurrent(): Promise<{ reader: WatchReader; first: WatchEvent }> {
  const reader = watch();
  const first = await reader.nextEvent();
  expect(first.kind).toBe(WatchEvent_Kind.ACTIVATED);
  return { reader, first };
}

/**
 * The next ACTIVATED event. Failed attempts before it are skipped: the activator reports each
 * failed attempt, and a slow machine may deliver one change as two watcher events.
 */
async function nextActivated(reader: WatchReader): Promise<WatchEvent> {
  let event = await reader.nextEvent();
  while (event.kind === WatchEvent_Kind.ACTIVATION_FAILED) event = await reader.nextEvent();
  return event;
}

/** What Resolve answers now for a request with no context. */
async function resolveNow(): Promise<{ revision: string; guardrails: string[] }> {
  const res = await callResolve(s.client, {});
  return { revision: res.revision, guardrails: res.guardrails };
}

async function healthStatus(): Promise<HealthCheckResponse_ServingStatus> {
  const health = new HealthClient(s.grpcAddress, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      health.check({ service: 'guardrail.pdp.v1.DecisionService' }, (e, r) => (e ? reject(e) : resolve(r.status))),
    );
  } finally {
    health.close();
  }
}

/** Writes a temp file next to `target` and renames it into place, as careful producers do. */
function writeAtomically(target: string, content: string): void {
  fs.writeFileSync(`${target}.tmp`, content);
  fs.renameSync(`${target}.tmp`, target);
}

describe('Watch', () => {
  it('sends the current snapshot first, as ACTIVATED with its revision, origin, counts and load time', async () => {
    await start();
    const { first } = await watchFromCurrent();
    const snapshot = s.app.holder.current()!;
    expect(first).toMatchObject({
      revision: snapshot.revision,
      origin: file,
      policyCount: 1,
      attachmentCount: 1,
      issues: [],
      message: '',
    });
    expect(first.loadedAt?.getTime()).toBe(snapshot.loadedAt.getTime());
    expect(first.occurredAt?.getTime()).toBe(snapshot.loadedAt.getTime());
    expect((await resolveNow()).revision).toBe(first.revision);
  });

  it('skips the first event when known_revision is the current revision', async () => {
    await start();
    const current = (await resolveNow()).revision;
    const reader = watch(current);
    await waitFor(() => s.app.server.openWatchStreams === 1, 5000, 'the stream to open');
    fs.writeFileSync(file, bundle('g2'));
    const event = await reader.nextEvent();
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(event.revision).not.toBe(current);
  });

  it('sends the current snapshot first when known_revision is stale', async () => {
    await start();
    const reader = watch('0123456789abcdef');
    expect(await nextRevision(reader)).toBe((await resolveNow()).revision);
  });
});

describe('hot reload, seen on Watch and in Resolve', () => {
  it('activates an in-place rewrite within 1 s and answers Resolve from the new revision', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    const writtenAt = performance.now();
    fs.writeFileSync(file, bundle('g2'));
    const event = await reader.nextEvent();
    const elapsedMs = performance.now() - writtenAt;
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(event.revision).not.toBe(first.revision);
    expect(elapsedMs).toBeLessThan(1000);
    expect(event.occurredAt!.getTime()).toBeGreaterThanOrEqual(event.loadedAt!.getTime());
    expect(await resolveNow()).toEqual({ revision: event.revision, guardrails: ['g2'] });
  });

  it('keeps serving the old revision when the file is half-written, then activates the fixed file', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    fs.writeFileSync(file, HALF_WRITTEN);
    const failed = await reader.nextEvent();
    expect(failed).toMatchObject({
      kind: WatchEvent_Kind.ACTIVATION_FAILED,
      revision: first.revision,
      origin: file,
      policyCount: 1,
      attachmentCount: 1,
    });
    expect(failed.loadedAt?.getTime()).toBe(first.loadedAt?.getTime());
    expect(failed.message).toMatch(/^cannot parse bundle /);
    expect(failed.issues.length).toBeGreaterThan(0);
    expect(failed.issues.every((i) => i.rule === 'unparseable' && i.severity === Issue_Severity.ERROR)).toBe(true);
    expect(failed.issues[0]).toMatchObject({ file });
    expect(await resolveNow()).toEqual({ revision: first.revision, guardrails: ['g1'] });
    expect(await healthStatus()).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const metrics = await (await fetch(`http://${s.adminAddress}/metrics`)).text();
    expect(Number(/pdp_activations_total\{result="failed"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    fs.writeFileSync(file, bundle('g2'));
    const fixed = await nextActivated(reader);
    expect(fixed.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(fixed.message).toBe('');
    expect(await resolveNow()).toEqual({ revision: fixed.revision, guardrails: ['g2'] });
  });

  it('reports every issue of a bundle with validation errors and keeps serving the old revision', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    fs.writeFileSync(file, INVALID);
    const failed = await reader.nextEvent();
    expect(failed.kind).toBe(WatchEvent_Kind.ACTIVATION_FAILED);
    expect(failed.revision).toBe(first.revision);
    expect(failed.message).toBe(`bundle ${file} has 2 error(s); not activated`);
    const errors = failed.issues.filter((i) => i.severity === Issue_Severity.ERROR);
    expect(errors.map((i) => [i.rule, i.file, i.line])).toEqual([
      ['invalid_inheritance', file, 2],
      ['invalid_inheritance', file, 3],
    ]);
    expect(await resolveNow()).toEqual({ revision: first.revision, guardrails: ['g1'] });
    expect(await healthStatus()).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('activates a file renamed into place', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    writeAtomically(file, bundle('g2'));
    const event = await reader.nextEvent();
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(event.revision).not.toBe(first.revision);
    expect(await resolveNow()).toEqual({ revision: event.revision, guardrails: ['g2'] });
  });

  it('keeps serving when the file is deleted, then activates it when it is re-created', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    fs.rmSync(file);
    const failed = await reader.nextEvent();
    expect(failed.kind).toBe(WatchEvent_Kind.ACTIVATION_FAILED);
    expect(failed.revision).toBe(first.revision);
    expect(failed.message).toMatch(new RegExp(`^cannot read bundle ${file}: ENOENT`));
    expect(await resolveNow()).toEqual({ revision: first.revision, guardrails: ['g1'] });
    expect(await healthStatus()).toBe(HealthCheckResponse_ServingStatus.SERVING);

    fs.writeFileSync(file, bundle('g2'));
    const event = await nextActivated(reader);
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(await resolveNow()).toEqual({ revision: event.revision, guardrails: ['g2'] });
  });

  it('activates a Kubernetes ConfigMap update (the ..data symlink swap)', async () => {
    const writeVersion = (ts: string, content: string): void => {
      fs.mkdirSync(path.join(dir, ts));
      fs.writeFileSync(path.join(dir, ts, 'bundle.yaml'), content);
    };
    writeVersion('..2026_11_21_10_00_00.000000001', bundle('g1'));
    fs.symlinkSync('..2026_11_21_10_00_00.000000001', path.join(dir, '..data'));
    fs.symlinkSync('..data/bundle.yaml', file);
    await start();
    const { reader, first } = await watchFromCurrent();
    expect(first.origin).toBe(file);

    writeVersion('..2026_11_21_10_05_00.000000002', bundle('g2'));
    fs.symlinkSync('..2026_11_21_10_05_00.000000002', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    fs.rmSync(path.join(dir, '..2026_11_21_10_00_00.000000001'), { recursive: true });
    const event = await reader.nextEvent();
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(event.revision).not.toBe(first.revision);
    expect(await resolveNow()).toEqual({ revision: event.revision, guardrails: ['g2'] });
  });

  it('sends no event when the file is rewritten with identical content', async () => {
    await start();
    const { reader, first } = await watchFromCurrent();
    fs.writeFileSync(file, bundle('g1'));
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(reader.pending).toEqual([]);
    expect((await resolveNow()).revision).toBe(first.revision);
    // The watcher still works: the next real change is the next event.
    fs.writeFileSync(file, bundle('g2'));
    const event = await reader.nextEvent();
    expect(event.kind).toBe(WatchEvent_Kind.ACTIVATED);
    expect(await resolveNow()).toEqual({ revision: event.revision, guardrails: ['g2'] });
  });
});

describe('Watch streams and the server lifecycle', () => {
  it('forgets a stream the client cancels', async () => {
    await start();
    const { reader } = await watchFromCurrent();
    expect(s.app.server.openWatchStreams).toBe(1);
    reader.cancel();
    await waitFor(() => s.app.server.openWatchStreams === 0, 5000, 'the stream to close');
  });

  it('delivers the next activation to 300 concurrent watchers', async () => {
    await start();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const all = Array.from({ length: 300 }, () => watch());
      const firsts = await Promise.all(all.map((r) => r.nextEvent()));
      expect(new Set(firsts.map((e) => e.revision)).size).toBe(1);
      expect(s.app.server.openWatchStreams).toBe(300);

      fs.writeFileSync(file, bundle('g2'));
      const events = await Promise.all(all.map((r) => r.nextEvent(10_000)));
      expect(events.every((e) => e.kind === WatchEvent_Kind.ACTIVATED)).toBe(true);
      const revisions = new Set(events.map((e) => e.revision));
      expect(revisions.size).toBe(1);
      expect(await resolveNow()).toEqual({ revision: [...revisions][0], guardrails: ['g2'] });

      for (const r of all) r.cancel();
      await waitFor(() => s.app.server.openWatchStreams === 0, 10_000, 'every stream to close');
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ends open Watch streams cleanly when the app stops', async () => {
    await start();
    const { reader } = await watchFromCurrent();
    const started = s;
    s = { ...started, stop: async () => {} }; // stopped here, not in afterEach
    const stopping = started.stop();
    expect(await reader.ended).toBeNull(); // status OK, not CANCELLED or UNAVAILABLE
    await stopping;
    expect(started.app.server.openWatchStreams).toBe(0);
  });
});
