import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PdpError } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import type { Issue } from '../model/issue.js';
import type { PolicySource } from './source.js';
import { parseYamlDocument, type YamlProblem } from './yaml-document.js';

/** Default limit on a bundle file's size: 16 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Options of `createYamlBundleSource`. */
export interface YamlBundleSourceOptions {
  /** The YAML or JSON file (a LiteLLM config.yaml, or just its policy sections). */
  readonly path: string;
  /** Larger files are rejected with BUNDLE_INVALID. Default 16 MiB. */
  readonly maxBundleBytes?: number;
  /** Quiet period after a change in the directory before `watch` reports it. */
  readonly debounceMs?: number;
}

/**
 * A policy source reading one YAML or JSON file. `load()` reads it whole, hashes the bytes and
 * parses them as PyYAML (which LiteLLM uses) would.
 */
export function createYamlBundleSource(options: YamlBundleSourceOptions): PolicySource {
  const maxBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  return {
    origin: options.path,
    load: async () => bundleFromBytes(await readBundleFile(options.path, maxBytes), options.path),
  };
}

/**
 * Parses bundle text exactly as `load()` parses file bytes (the hash is of the UTF-8 bytes).
 * Throws PdpError BUNDLE_INVALID with one `unparseable` issue per YAML error.
 */
export function parseBundleText(text: string, origin: string): Bundle {
  return bundleFromBytes(Buffer.from(text, 'utf8'), origin);
}

async function readBundleFile(path: string, maxBytes: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size > maxBytes) throw tooLarge(path, size, maxBytes);
      bytes = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (e) {
    if (e instanceof PdpError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new PdpError('SOURCE_UNAVAILABLE', `cannot read bundle ${path}: ${reason}; check the path and permissions`, {
      cause: e,
    });
  }
  // The file may have grown between stat and read.
  if (bytes.length > maxBytes) throw tooLarge(path, bytes.length, maxBytes);
  return bytes;
}

function tooLarge(path: string, size: number, maxBytes: number): PdpError {
  const message = `bundle ${path} is ${size} bytes, over the limit of ${maxBytes} bytes; raise maxBundleBytes or make the bundle smaller`;
  return new PdpError('BUNDLE_INVALID', message, {
    issues: [Object.freeze({ severity: 'error', rule: 'invalid_bundle', message, file: path, line: 0, column: 0, path: '' })],
  });
}

function bundleFromBytes(bytes: Uint8Array, origin: string): Bundle {
  const hash = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unparseable(origin, [{ message: 'the file is not valid UTF-8', line: 0, column: 0 }]);
  }
  const parsed = parseYamlDocument(text);
  if (!parsed.ok) throw unparseable(origin, parsed.problems);
  const { data, locate, keysAt, duplicateKeys } = parsed.document;
  return Object.freeze({ origin, hash, data, locate, keysAt, duplicateKeys });
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
