import { performance } from 'node:perf_hooks';
import type { CheckErrorListener } from '../../engine/pipeline.js';
import { PdpError } from '../../errors.js';
import type { Snapshot } from '../../model/snapshot.js';
import { executePipelineOffline, resolveOffline } from '../offline.js';
import { formatValue, mismatches } from './expect.js';
import type { Suite, SuiteCase } from './suite.js';

/** Why a case failed, where in its suite: an expectation not met, or the engine refusing the request. */
export interface Failure {
  readonly line: number;
  readonly column: number;
  /** `FIELD expected X, got Y`, or `error: MESSAGE`. */
  readonly message: string;
}

/** One case's result. */
export interface CaseResult {
  readonly case: SuiteCase;
  /** Empty when the case passed. */
  readonly failures: readonly Failure[];
  readonly seconds: number;
}

/** A suite's results, in its cases' order. */
export interface SuiteResult {
  readonly suite: Suite;
  readonly cases: readonly CaseResult[];
}

/**
 * Runs every case of every suite, one at a time, against `snapshot` with the offline commands'
 * engine calls (resolveOffline, executePipelineOffline). A request the engine refuses (an unknown
 * policy, a pipeline naming an unknown guardrail) fails its case: with this snapshot, it has no answer.
 */
export async function runSuites(snapshot: Snapshot, suites: readonly Suite[], onCheckError: CheckErrorListener): Promise<SuiteResult[]> {
  const results: SuiteResult[] = [];
  for (const suite of suites) {
    const cases: CaseResult[] = [];
    for (const c of suite.cases) cases.push(await runCase(snapshot, c, onCheckError));
    results.push({ suite, cases });
  }
  return results;
}

async function runCase(snapshot: Snapshot, c: SuiteCase, onCheckError: CheckErrorListener): Promise<CaseResult> {
  const started = performance.now();
  let failures: Failure[];
  try {
    const answer = c.kind === 'resolve' ? resolveOffline(snapshot, c.request) : await executePipelineOffline(snapshot, c.request, onCheckError);
    failures = mismatches(c.kind, c.expect, answer).map(({ expectation: e, actual }) => ({
      line: e.line,
      column: e.column,
      message: `${e.field} expected ${formatValue(e.value)}, got ${formatValue(actual)}`,
    }));
  } catch (e) {
    failures = [{ line: c.line, column: c.column, message: `error: ${PdpError.from(e).message}` }];
  }
  return { case: c, failures, seconds: (performance.now() - started) / 1000 };
}

/** One failure as one line: `FILE:LINE:COLUMN: case "NAME": MESSAGE` (the name JSON-quoted, so a line stays one line). */
export function formatFailure(file: string, c: SuiteCase, f: Failure): string {
  return `${file}:${f.line}:${f.column}: case ${JSON.stringify(c.name)}: ${f.message}`;
}
