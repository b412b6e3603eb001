// What a test case may expect, and how an expectation is compared with the engine's answer. The
// answer is compared in its proto3 JSON form (what `guardrail-pdp resolve` and `pipeline` print),
// so an expectation reads like the CLI's output; docs/policy-tests.md describes each field.

/** A resolve case asks Resolve; a pipeline case runs ExecutePipeline. */
export type CaseKind = 'resolve' | 'pipeline';

/**
 * How an expected value is written: `names` a list of strings, `names-map` a mapping of strings to
 * strings, `terminal-action` ALLOW, BLOCK or MODIFY_RESPONSE, `messages` a list of `{role, content}`,
 * `text` a string, `steps` a list of `{guardrail, outcome, action?, detail?}`.
 */
export type ExpectType = 'names' | 'names-map' | 'terminal-action' | 'messages' | 'text' | 'steps';

/** The fields each kind of case may expect, with how each is written. */
export const EXPECT_FIELDS: Readonly<Record<CaseKind, Readonly<Record<string, ExpectType>>>> = Object.freeze({
  resolve: Object.freeze({
    guardrails: 'names',
    applied_policies: 'names',
    pipelines: 'names',
    pipeline_managed_guardrails: 'names',
    matched_via: 'names-map',
  }),
  pipeline: Object.freeze({
    action: 'terminal-action',
    steps: 'steps',
    messages: 'messages',
    response_text: 'text',
    error_message: 'text',
    modify_response_message: 'text',
  }),
});

/** The terminal actions an ExecutePipelineResponse can carry, as proto3 JSON names them. */
export const TERMINAL_ACTIONS: readonly string[] = ['ALLOW', 'BLOCK', 'MODIFY_RESPONSE'];
/** A step's actions and outcomes, as proto3 JSON names them. */
export const STEP_ACTIONS: readonly string[] = ['ALLOW', 'BLOCK', 'NEXT', 'MODIFY_RESPONSE'];
export const STEP_OUTCOMES: readonly string[] = ['PASS', 'FAIL', 'ERROR'];
/** The keys of an expected step; the first two are required. */
export const STEP_KEYS: readonly string[] = ['guardrail', 'outcome', 'action', 'detail'];

/** One expected field of a case, checked against its ExpectType, and where the suite gives it. */
export interface Expectation {
  readonly field: string;
  readonly value: unknown;
  readonly line: number;
  readonly column: number;
}

/** An expectation the answer does not meet: both values as compared. */
export interface Mismatch {
  readonly expectation: Expectation;
  /** The answer's value for the field; for `steps`, each step shown with the keys its expectation gives. */
  readonly actual: unknown;
}

/** The expectations `answer` (a ResolveResponse or ExecutePipelineResponse in proto3 JSON) does not meet, in the suite's order. */
export function mismatches(kind: CaseKind, expectations: readonly Expectation[], answer: unknown): Mismatch[] {
  const out: Mismatch[] = [];
  for (const expectation of expectations) {
    let actual = actualValue(kind, expectation.field, asObject(answer));
    if (expectation.field === 'steps') actual = projectSteps(actual as Record<string, unknown>[], expectation.value as Record<string, unknown>[]);
    if (canonical(actual) !== canonical(expectation.value)) out.push({ expectation, actual });
  }
  return out;
}

/** A value as a failure line shows it: compact JSON, `(absent)` for a field the answer leaves out. */
export function formatValue(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

/** The answer's value of an expectable field, with proto3 JSON's omitted defaults filled in. */
function actualValue(kind: CaseKind, field: string, a: Record<string, unknown>): unknown {
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(asObject) : []);
  const strings = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  if (kind === 'resolve') {
    switch (field) {
      case 'guardrails':
        return strings(a.guardrails);
      case 'applied_policies':
        return strings(a.appliedPolicies);
      case 'pipelines':
        return list(a.pipelines).map((p) => p.policyName ?? '');
      case 'pipeline_managed_guardrails':
        return strings(a.pipelineManagedGuardrails);
      case 'matched_via':
        return Object.fromEntries(list(a.matchedPolicies).map((m) => [m.policyName ?? '', m.matchedVia ?? '']));
    }
  } else {
    switch (field) {
      case 'action':
        return a.terminalAction ?? 'ACTION_UNSPECIFIED';
      case 'messages':
        return list(a.messages).map((m) => ({ role: m.role ?? '', content: m.content ?? '' }));
      case 'response_text':
        return a.responseText;
      case 'error_message':
        return a.errorMessage ?? '';
      case 'modify_response_message':
        return a.modifyResponseMessage ?? '';
      case 'steps':
        return list(a.steps).map((s) => ({
          guardrail: s.guardrail ?? '',
          outcome: s.outcome ?? 'OUTCOME_UNSPECIFIED',
          action: s.action ?? 'ACTION_UNSPECIFIED',
          detail: s.detail ?? '',
        }));
    }
  }
  throw new Error(`no such ${kind} expectation: ${field}`);
}

/**
 * Each actual step with only the keys its expected step gives (durations and unasked details are
 * not compared); steps beyond the expected list keep guardrail, outcome and action, so a
 * length mismatch shows what ran.
 */
function projectSteps(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[]): unknown[] {
  return actual.map((step, i) => {
    const keys = expected[i] === undefined ? ['guardrail', 'outcome', 'action'] : STEP_KEYS.filter((k) => Object.hasOwn(expected[i] as object, k));
    return Object.fromEntries(keys.map((k) => [k, step[k]]));
  });
}

/** JSON with every mapping's keys sorted: equal for equal values, whatever the order keys were written in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  ) ?? 'undefined';
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
