import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Activator } from '../../src/activation/activator.js';
import { SnapshotHolder } from '../../src/activation/holder.js';
import type { PolicySource } from '../../src/sources/source.js';
import { bundleFromYaml } from '../helpers/bundle.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// A content filter and a generic API guardrail: kinds whose compiled checks close over their settings.
const yamlOf = (guardrail: string): string => `guardrails:
  - guardrail_name: filter
    litellm_params: { guardrail: litellm_content_filter, mode: pre_call, blocked_words: [{ keyword: secret, action: BLOCK }] }
  - guardrail_name: remote
    litellm_params: { guardrail: generic_guardrail_api, mode: pre_call, api_base: "http://127.0.0.1:9" }
policies:
  base: { guardrails: { add: [filter, remote] }, condition: { model: "gpt-4.*" } }
  ${guardrail}: { inherit: base, guardrails: { remove: [remote] } }
policy_attachments:
  - { policy: base, teams: [t1, "t2-*"] }
`;

/** A source that parses a new Bundle on every load and remembers each one weakly. */
function weakSource(): PolicySource & { loaded: WeakRef<object>[] } {
  let n = 0;
  const loaded: WeakRef<object>[] = [];
  return {
    origin: 'test.yaml',
    loaded,
    load: async () => {
      const bundle = bundleFromYaml(yamlOf(`p${n++}`));
      loaded.push(new WeakRef(bundle));
      return bundle;
    },
  };
}

// WeakRef targets stay alive until the current job ends; then a full GC.
async function collect(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  gc();
}

describe('Activator memory', () => {
  it('keeps nothing of the loaded Bundle once its snapshot is active', async () => {
    const source = weakSource();
    const holder = new SnapshotHolder();
    const activator = new Activator({ source, holder, mode: 'strict', log: pino({ level: 'silent' }) });
    expect((await activator.activate()).kind).toBe('activated');
    await collect();
    expect(holder.current()?.policies.size).toBe(2);
    expect(source.loaded[0]?.deref()).toBeUndefined();
  });

  it('lets the previous snapshot become garbage after a swap', async () => {
    const holder = new SnapshotHolder();
    const activator = new Activator({ source: weakSource(), holder, mode: 'strict', log: pino({ level: 'silent' }) });
    await activator.activate();
    const first = new WeakRef(holder.current() as object);
    await activator.activate();
    await collect();
    expect(holder.current()?.policies.has('p1')).toBe(true);
    expect(first.deref()).toBeUndefined();
  });
});
