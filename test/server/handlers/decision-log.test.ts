import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { resolve } from '../../../src/engine/resolve.js';
import { createDecisionLog, type PipelineDecision } from '../../../src/server/handlers/decision-log.js';
import { req, snapshotOf } from '../../helpers/snapshot.js';

const SNAPSHOT = snapshotOf(`
policies:
  base: { guardrails: { add: [pii] } }
  gpt: { guardrails: { add: [secrets] }, pipeline: { mode: pre_call, steps: [{ guardrail: secrets }] } }
policy_attachments:
  - { policy: base, scope: "*" }
  - { policy: gpt, models: [gpt-4] }
`);

/** A logger writing JSON lines into `lines`. */
function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

const PIPELINE: PipelineDecision = {
  requestId: 'req-1',
  revision: 'r1',
  policyName: 'gpt',
  mode: 'pre_call',
  terminalAction: 'block',
  steps: [{ guardrail: 'secrets', outcome: 'fail', action: 'block', detail: 'matched aws key AKIA-SECRET' } as never],
};

describe('createDecisionLog', () => {
  it('logs nothing at sample rate 0', () => {
    const { log, lines } = capture();
    const d = createDecisionLog({ log, sampleRate: 0, random: () => 0 });
    const request = req({ model: 'gpt-4' });
    d.resolve(request, resolve(SNAPSHOT, request));
    d.pipeline(PIPELINE);
    expect(d.isEnabled).toBe(false);
    expect(lines).toEqual([]);
  });

  it('logs one Resolve line with identifiers and the answer, never tags', () => {
    const { log, lines } = capture();
    const d = createDecisionLog({ log, sampleRate: 1 });
    const request = req({ teamAlias: 'team-a', keyAlias: 'key-a', model: 'gpt-4', tags: ['customer-4711-private'] });
    d.resolve(request, resolve(SNAPSHOT, request));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      component: 'decision-log',
      msg: 'decision',
      rpc: 'Resolve',
      revision: SNAPSHOT.revision,
      teamAlias: 'team-a',
      keyAlias: 'key-a',
      model: 'gpt-4',
      tagCount: 1,
      appliedPolicies: ['base', 'gpt'],
      guardrails: ['pii'],
      pipelines: ['gpt'],
    });
    expect(JSON.stringify(lines)).not.toContain('customer-4711-private');
  });

  it('logs one ExecutePipeline line with the request id and terminal action, without step details', () => {
    const { log, lines } = capture();
    createDecisionLog({ log, sampleRate: 1 }).pipeline(PIPELINE);
    expect(lines[0]).toMatchObject({
      rpc: 'ExecutePipeline',
      requestId: 'req-1',
      revision: 'r1',
      policyName: 'gpt',
      mode: 'pre_call',
      terminalAction: 'block',
      steps: [{ guardrail: 'secrets', outcome: 'fail', action: 'block' }],
    });
    expect(JSON.stringify(lines)).not.toContain('AKIA-SECRET');
  });

  it('samples: logs a decision when the draw falls below the rate', () => {
    const { log, lines } = capture();
    const draws = [0.05, 0.5, 0.09, 0.1];
    const d = createDecisionLog({ log, sampleRate: 0.1, random: () => draws.shift() as number });
    for (let i = 0; i < 4; i++) d.pipeline({ ...PIPELINE, requestId: `r${i}` });
    expect(lines.map((l) => l['requestId'])).toEqual(['r0', 'r2']);
  });
});
