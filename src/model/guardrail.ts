import type { RequestContext } from './decision.js';
import type { GuardrailSpec } from './policy.js';

/** One chat message of a request. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/**
 * What one guardrail call sees. A request (pre_call) is checked as its messages' contents, in
 * order; a response (post_call) as one text. Guardrails never log or echo these texts.
 */
export interface GuardrailInput {
  /** LiteLLM's Generic Guardrail API `input_type`. */
  readonly inputType: 'request' | 'response';
  /** The message contents (request) or the response text (response). */
  readonly texts: readonly string[];
  /** The request's messages; empty for a response. `texts[i]` is `messages[i].content`. */
  readonly messages: readonly ChatMessage[];
  readonly context: RequestContext;
  /** The caller's request id (LiteLLM's litellm_call_id); may be "". */
  readonly requestId: string;
  /** Aborted when the step's time is up (its timeout or the call's deadline). */
  readonly signal: AbortSignal;
}

/**
 * How one guardrail call ended. `pass` may carry replacement texts (masking), one per input text.
 * `detail` is the guardrail's reason: never prompt text.
 */
export type GuardrailVerdict =
  | { readonly outcome: 'pass'; readonly texts?: readonly string[] }
  | { readonly outcome: 'fail'; readonly detail: string }
  | { readonly outcome: 'error'; readonly detail: string };

/**
 * A compiled guardrail's check: synchronous for built-ins on ordinary inputs (the content filter
 * returns a promise for a large one, which it checks in steps), a promise for remote ones.
 */
export type GuardrailCheck = (input: GuardrailInput) => GuardrailVerdict | Promise<GuardrailVerdict>;

/** A guardrail as the snapshot holds it: its definition and, if the sidecar can run it, its check. */
export interface CompiledGuardrail {
  readonly name: string;
  readonly kind: string;
  readonly spec: GuardrailSpec;
  /**
   * Undefined for guardrails the sidecar does not execute: kinds it does not know (e.g. presidio)
   * and built-in kinds with settings it does not support. The gateway runs those.
   */
  readonly check: GuardrailCheck | undefined;
  /** Why a built-in kind is not executable (the settings it does not support); undefined otherwise. */
  readonly notExecutable?: string;
  /** The time limit for a step that sets none. */
  readonly timeoutMs: number;
}
