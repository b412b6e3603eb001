import { planInjection, type InjectSettings, type SkipReason } from './plan.js';
import type { PatchOp, PodTemplate } from './types.js';

/** The AdmissionReview version the webhook speaks (the MutatingWebhookConfiguration asks for it only). */
export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

/** What happened to one review, for metrics and logs. */
export type ReviewOutcome =
  | { readonly kind: 'injected'; readonly completed: boolean }
  | { readonly kind: 'skipped'; readonly why: SkipReason | 'not_pod_create' }
  /** Selected but not injectable: admitted unchanged, with a warning per reason. */
  | { readonly kind: 'refused'; readonly reasons: readonly string[] }
  /** A bug here: admitted unchanged, with a warning. */
  | { readonly kind: 'error'; readonly error: unknown };

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON Patch. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

export type ReviewResult =
  | {
      readonly status: 200;
      readonly review: { readonly apiVersion: string; readonly kind: 'AdmissionReview'; readonly response: AdmissionResponse };
      readonly outcome: ReviewOutcome;
      /** namespace/name (or namespace/generateName*) of the pod, for logs. */
      readonly pod: string;
      readonly ops: readonly PatchOp[];
    }
  /** The body is not an AdmissionReview the webhook can answer. */
  | { readonly status: 400; readonly message: string };

/** The API server shows warnings to the client; it may truncate long ones, so at most this many. */
const MAX_WARNINGS = 8;

/**
 * Answers one AdmissionReview (already parsed from JSON): a pod CREATE that asks for the sidecar
 * gets the JSON Patch that adds it; every other request is allowed as it is. Injection never
 * denies a pod: one that cannot be injected is admitted unchanged, each reason a warning.
 */
export function reviewAdmission(body: unknown, settings: InjectSettings): ReviewResult {
  if (!isMap(body)) return bad('the body is not a JSON object');
  if (body.kind !== 'AdmissionReview') return bad(`kind must be AdmissionReview, not ${JSON.stringify(body.kind)}`);
  if (body.apiVersion !== REVIEW_API_VERSION)
    return bad(`apiVersion must be ${REVIEW_API_VERSION}, not ${JSON.stringify(body.apiVersion)} (set admissionReviewVersions: [v1])`);
  const request = body.request;
  if (!isMap(request)) return bad('request is missing or not an object');
  const { uid, kind, operation } = request;
  if (typeof uid !== 'string' || uid === '') return bad('request.uid is missing or empty');
  if (!isMap(kind) || typeof kind.kind !== 'string') return bad('request.kind is missing or not a GroupVersionKind');
  if (typeof operation !== 'string') return bad('request.operation is missing');
  const pod = podName(request);
  const answer = (outcome: ReviewOutcome, ops: readonly PatchOp[] = [], warnings: readonly string[] = []): ReviewResult => ({
    status: 200,
    review: {
      apiVersion: REVIEW_API_VERSION,
      kind: 'AdmissionReview',
      response: {
        uid,
        allowed: true,
        ...(ops.length > 0 ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(ops)).toString('base64') } : {}),
        ...(warnings.length > 0 ? { warnings: warnings.slice(0, MAX_WARNINGS) } : {}),
      },
    },
    outcome,
    pod,
    ops,
  });

  const isPodCreate = kind.kind === 'Pod' && (kind.group ?? '') === '' && operation === 'CREATE' && (request.subResource ?? '') === '';
  if (!isPodCreate) return answer({ kind: 'skipped', why: 'not_pod_create' });
  if (!isMap(request.object)) return bad('request.object is missing or not a Pod');
  try {
    const plan = planInjection(request.object as PodTemplate, settings);
    if (plan.action === 'skip') return answer({ kind: 'skipped', why: plan.why });
    if (plan.action === 'inject') return answer({ kind: 'injected', completed: plan.completed }, plan.ops);
    return answer({ kind: 'refused', reasons: plan.reasons }, [], plan.reasons.map((r) => `guardrail-pdp sidecar not injected: ${r}`));
  } catch (error) {
    return answer({ kind: 'error', error }, [], ['guardrail-pdp sidecar not injected: internal error in the injector (see its log)']);
  }
}

function bad(message: string): ReviewResult {
  return { status: 400, message: `not an AdmissionReview the injector can answer: ${message}` };
}

function podName(request: Record<string, unknown>): string {
  const meta = isMap(request.object) && isMap(request.object.metadata) ? request.object.metadata : {};
  const namespace = typeof request.namespace === 'string' ? request.namespace : typeof meta.namespace === 'string' ? meta.namespace : '';
  const name =
    typeof request.name === 'string' && request.name !== ''
      ? request.name
      : typeof meta.name === 'string' && meta.name !== ''
        ? meta.name
        : typeof meta.generateName === 'string'
          ? `${meta.generateName}*`
          : '';
  return `${namespace}/${name}`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
