import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * Paths never logged: request and response content (prompts, completions, the texts sent to HTTP
 * guardrails), wherever a payload is attached. A second line of defence: no code logs these.
 */
export const REDACTED_PATHS = Object.freeze([
  'messages',
  '*.messages',
  'response_text',
  '*.response_text',
  'responseText',
  '*.responseText',
  'request.messages',
  'request.responseText',
  'texts',
  '*.texts',
  'structured_messages',
  '*.structured_messages',
  'request_data',
  '*.request_data',
  'body',
  '*.body',
]);

/**
 * The process logger: JSON lines on stdout (or `destination`), prompt fields redacted. Components
 * log through `log.child({ component })`; activation lines carry `revision` and `origin`.
 */
export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: 'guardrail-pdp' }, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } },
    destination ?? process.stdout,
  );
}
