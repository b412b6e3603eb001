import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { builtinCategoryKey, categoryFileKey, wordsFileKey, type Bundle, type BundleFile, type BundleFiles } from '../model/bundle.js';
import { parseBundleBytes } from './document/bundle-text.js';
import { hashOf } from './document/bundle-text.js';
import { FileReadError, readRegularFile } from './read-file.js';

/** Default limit on one file a bundle names: 4 MiB (LiteLLM's largest category file is about 100 KB). */
export const DEFAULT_MAX_REFERENCED_FILE_BYTES = 4 * 1024 * 1024;

/** Where the files a bundle names are looked for. */
export interface ReferenceOptions {
  /** The bundle's (or db's) directory: relative names resolve here, and every name must stay inside it. */
  readonly baseDir: string;
  /** LiteLLM's content filter categories directory (--content-filter-categories): built-in category names. */
  readonly categoriesDir?: string;
  /** The most bytes one file may have. */
  readonly maxFileBytes?: number;
}


/**
 * Reads every file a bundle's data names, on the loader thread: this module is the one place that
 * knows which settings name files. They are the content filter's (`guardrail:
 * litellm_content_filter`) `blocked_words_file`, each enabled entry of `categories` (its
 * `category_file`, else its built-in `category` name, read from `categoriesDir` as LiteLLM reads
 * its own categories directory: `<name>.yaml`, else `<name>.json`), and the built-in category a
 * category file names in `inherit_from`. A name must resolve inside `baseDir` (`..` and absolute
 * paths elsewhere are refused unread), except that a relative `category_file` found nowhere there is
 * also looked for under LiteLLM's content filter directory (the parent of `categoriesDir`), as
 * LiteLLM resolves its policy templates. Files are read as the bundle file is (regular files only,
 * at most `maxFileBytes`) and parsed as YAML or JSON. Built-in names are not read without
 * `categoriesDir` (compile reports them). Never throws: each problem is recorded in its entry.
 */
export async function readReferencedFiles(data: unknown, options: ReferenceOptions): Promise<Map<string, BundleFile>> {
  const files = new Map<string, BundleFile>();
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_REFERENCED_FILE_BYTES;
  const baseDir = resolve(options.baseDir);
  const categoriesDir = options.categoriesDir === undefined ? undefined : resolve(options.categoriesDir);
  const inherits: string[] = [];
  const noteInherit = (file: BundleFile): void => {
    const inherit = file.ok && isMapping(file.data) ? file.data.inherit_from : undefined;
    if (typeof inherit === 'string' && inherit !== '') inherits.push(inherit.replace('.json', '').replace('.yaml', ''));
  };
  for (const params of contentFilterParams(data)) {
    const words = params.blocked_words_file;
    if (typeof words === 'string' && words !== '' && !files.has(wordsFileKey(words))) {
      files.set(wordsFileKey(words), await readNamed(words, [baseDir], baseDir, maxBytes));
    }
    const categories = Array.isArray(params.categories) ? (params.categories as unknown[]) : [];
    for (const entry of categories) {
      if (!isMapping(entry) || entry.enabled === false) continue;
      const file = entry.category_file;
      if (typeof file === 'string' && file !== '') {
        const key = categoryFileKey(file);
        if (!files.has(key)) {
          const roots = categoriesDir === undefined || isAbsolute(file) ? [baseDir] : [baseDir, dirname(categoriesDir)];
          files.set(key, await readNamed(file, roots, baseDir, maxBytes));
        }
        noteInherit(files.get(key) as BundleFile);
      } else if (typeof entry.category === 'string' && entry.category !== '' && categoriesDir !== undefined) {
        const key = builtinCategoryKey(entry.category);
        if (!files.has(key)) files.set(key, await readBuiltin(entry.category, categoriesDir, maxBytes));
        noteInherit(files.get(key) as BundleFile);
      }
    }
  }
  if (categoriesDir !== undefined) {
    for (const name of inherits) {
      if (!files.has(builtinCategoryKey(name))) files.set(builtinCategoryKey(name), await readBuiltin(name, categoriesDir, maxBytes));
    }
  }
  return files;
}

/** The bundle's hash when it names files: its bytes' hash and every file's fingerprint. */
export function combinedHash(bytesHash: string, files: BundleFiles): string {
  if (files.size === 0) return bytesHash;
  const h = createHash('sha256').update(bytesHash);
  for (const key of [...files.keys()].sort()) h.update(`\n${key}\0${(files.get(key) as BundleFile).fingerprint}`);
  return h.digest('hex');
}

/** The files a bundle's source read (and should watch): absolute paths, sorted, each once. */
export function watchedFiles(bundle: Bundle): string[] {
  const paths = new Set<string>();
  for (const f of bundle.files?.values() ?? []) if (f.path !== undefined) paths.add(f.path);
  return [...paths].sort();
}

/** What is at each path now, in the form BundleFile.fingerprint has, as one string: equal strings mean unchanged files. */
export async function filesFingerprint(paths: readonly string[], maxBytes = DEFAULT_MAX_REFERENCED_FILE_BYTES): Promise<string> {
  const parts: string[] = [];
  for (const path of paths) parts.push(`${path}\0${await fingerprintAt(path, maxBytes)}`);
  return parts.join('\n');
}

/** filesFingerprint of what the bundle's source found when it read them. */
export function recordedFingerprint(bundle: Bundle): string {
  const byPath = new Map<string, string>();
  for (const f of bundle.files?.values() ?? []) if (f.path !== undefined) byPath.set(f.path, f.fingerprint);
  return [...byPath.keys()]
    .sort()
    .map((path) => `${path}\0${byPath.get(path) as string}`)
    .join('\n');
}

async function fingerprintAt(path: string, maxBytes: number): Promise<string> {
  try {
    return `bytes ${hashOf(await readRegularFile(path, maxBytes))}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

/** A name from the bundle: tried under each root in turn (the first that exists wins), confined to its root. */
async function readNamed(name: string, roots: readonly string[], baseDir: string, maxBytes: number): Promise<BundleFile> {
  const inBundleDir = await readConfined(name, isAbsolute(name) ? resolve(name) : resolve(baseDir, name), baseDir, maxBytes);
  if (inBundleDir.ok || inBundleDir.problem !== 'missing') return inBundleDir;
  for (const root of roots) {
    if (root === baseDir) continue;
    for (const candidate of candidatesUnder(name, root)) {
      if (!isInside(root, candidate)) continue;
      const file = await readConfined(name, candidate, root, maxBytes);
      if (file.ok || file.problem !== 'missing') return file;
    }
  }
  return inBundleDir;
}

/** The paths a relative `name` may mean under LiteLLM's content filter directory: itself, then its ever shorter suffixes, as LiteLLM tries them. */
function candidatesUnder(name: string, root: string): string[] {
  const direct = resolve(root, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  const out = [direct];
  for (let i = 1; i < parts.length; i++) out.push(resolve(root, ...parts.slice(i)));
  return out;
}

async function readConfined(name: string, path: string, root: string, maxBytes: number): Promise<BundleFile> {
  if (!isInside(root, path)) return outside(name, root);
  // A symlink inside the directory may point out of it: what counts is where the file really is.
  try {
    const [real, realRoot] = await Promise.all([realpath(path), realpath(root)]);
    if (!isInside(realRoot, real)) return outside(name, root);
  } catch {
    // A missing file (or root): reading it below says so.
  }
  return readAndParse(name, path, maxBytes);
}

async function readBuiltin(name: string, categoriesDir: string, maxBytes: number): Promise<BundleFile> {
  if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') return outside(name, categoriesDir);
  const yaml = await readAndParse(join(categoriesDir, `${name}.yaml`), join(categoriesDir, `${name}.yaml`), maxBytes);
  if (yaml.ok || yaml.problem !== 'missing') return yaml;
  const json = await readAndParse(join(categoriesDir, `${name}.json`), join(categoriesDir, `${name}.json`), maxBytes);
  if (json.ok || json.problem !== 'missing') return json;
  return { ...yaml, message: `LiteLLM built-in category '${name}' not found: neither ${name}.yaml nor ${name}.json is in ${categoriesDir}` };
}

async function readAndParse(shown: string, path: string, maxBytes: number): Promise<BundleFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path, maxBytes);
  } catch (e) {
    const error = e as FileReadError;
    const fingerprint = `error ${error.message}`;
    if (error.kind === 'missing') return { ok: false, shown, path, fingerprint, problem: 'missing', message: `file '${shown}' not found (${path})` };
    const why = error.kind === 'too_large' ? `${error.message}, over the limit of ${maxBytes} bytes for a file a bundle names` : error.message;
    return { ok: false, shown, path, fingerprint, problem: 'unreadable', message: `cannot read '${shown}' (${path}): ${why}` };
  }
  const fingerprint = `bytes ${hashOf(bytes)}`;
  try {
    return { ok: true, shown, path, fingerprint, data: parseBundleBytes(bytes, shown).data };
  } catch (e) {
    return { ok: false, shown, path, fingerprint, problem: 'unparseable', message: `cannot parse '${shown}': ${(e as Error).message}` };
  }
}

function outside(name: string, root: string): BundleFile {
  const message = `'${name}' is outside ${root}: a file a bundle names must be in the bundle's directory or below it`;
  return { ok: false, shown: name, path: undefined, fingerprint: `outside ${name}`, problem: 'outside', message };
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function* contentFilterParams(data: unknown): Generator<Record<string, unknown>> {
  if (!isMapping(data) || !Array.isArray(data.guardrails)) return;
  for (const g of data.guardrails as unknown[]) {
    const params = isMapping(g) ? g.litellm_params : undefined;
    if (isMapping(params) && params.guardrail === 'litellm_content_filter') yield params;
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
