import { createHash } from 'node:crypto';
import { PdpError } from '../../errors.js';
import type { Bundle } from '../../model/bundle.js';
import type { Issue } from '../../model/issue.js';
import { parseJsonDocument } from './json-document.js';
import { parseYamlDocument, type YamlDocument, type YamlProblem } from './yaml-document.js';

/**
 * Parses a bundle file's bytes as PyYAML (which LiteLLM uses) would, strict JSON by the fast path:
 * the data plus the source table behind locate/keysAt. Pure and synchronous, so the loader thread
 * and `parseBundleText` run the same code. Throws PdpError BUNDLE_INVALID with one `unparseable`
 * issue per YAML error (or for bytes that are not UTF-8, a document nested too deep, a collection
 * used as a mapping key), located where the text shows it.
 */
export function parseBundleBytes(bytes: Uint8Array, origin: string): YamlDocument {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unparseable(origin, [{ message: 'the file is not valid UTF-8', line: 0, column: 0 }]);
  }
  const parsed = parseJsonDocument(text) ?? parseYamlDocument(text);
  if (!parsed.ok) throw unparseable(origin, parsed.problems);
  return parsed.document;
}

/**
 * Parses bundle text exactly as a bundle file's `load()` parses its bytes (the hash is of the UTF-8
 * bytes), in this thread and synchronously: for the CLI's inline input, tests and benchmarks.
 * Throws PdpError BUNDLE_INVALID with one `unparseable` issue per YAML error.
 */
export function parseBundleText(text: string, origin: string): Bundle {
  const bytes = Buffer.from(text, 'utf8');
  const { data, locate, keysAt, duplicateKeys } = parseBundleBytes(bytes, origin);
  return Object.freeze({ origin, hash: hashOf(bytes), data, locate, keysAt, duplicateKeys });
}

/** A bundle file's content hash: sha256 of its bytes, hex. */
export function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function unparseable(origin: string, problems: readonly YamlProblem[]): PdpError {
  const issues: Issue[] = problems.map((p) =>
    Object.freeze({ severity: 'error', rule: 'unparseable', message: p.message, file: origin, line: p.line, column: p.column, path: '' }),
  );
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new PdpError(
    'BUNDLE_INVALID',
    `cannot parse bundle ${origin}: ${first.message} at line ${first.line}, column ${first.column}${more}; fix the YAML or JSON syntax`,
    { issues },
  );
}
