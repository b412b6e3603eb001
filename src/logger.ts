import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Paths never logged: request and response content (prompts), wherever a payload is attached. */
export const REDACTED_PATHS = Object.freeze([
  'messages',
  '*.messages',
  'response_text',
  '*.response_text',
  'responseText',
  '*.responseText',
  'request.messages',
  'request.responseText',
]);

/** The process logger: JSON lines on stdout (or `destination`), prompt fields redacted. */
export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: 'guardrail-pdp' }, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } },
    destination ?? process.stdout,
  );
}
