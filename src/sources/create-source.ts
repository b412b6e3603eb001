import { createBundleFileSource } from './bundle-file.js';
import type { PolicySource } from './source.js';
import { createSqliteDbSource } from './sqlite/sqlite-db.js';

/** Where policies come from: a bundle file (YAML or JSON) or a SQLite db. */
export interface SourceConfig {
  readonly kind: 'bundle' | 'db';
  readonly path: string;
}

/**
 * How a source runs: `serve` watches it and loads it within a memory limit (the one-shot CLI
 * commands do neither); both may give the content filter categories directory.
 */
export interface SourceOptions {
  /** Quiet period after a change before it is reported (coalesces bursts of writes). */
  readonly debounceMs?: number;
  /** Called when watching fails (the source then may not see changes). */
  readonly onWatchError?: (err: Error) => void;
  /** The loader thread's heap in MB (see `loaderLimits`); unset, Node's default. */
  readonly loaderHeapMb?: number;
  /** LiteLLM's content filter categories directory: where built-in category names are read from. */
  readonly contentFilterCategoriesDir?: string;
}

/** The one place that turns "bundle file or db" into a PolicySource, for `serve` and every CLI command. */
export function createSource(config: SourceConfig, serving: SourceOptions = {}): PolicySource {
  const options = { path: config.path, ...serving };
  switch (config.kind) {
    case 'bundle':
      return createBundleFileSource(options);
    case 'db':
      return createSqliteDbSource(options);
  }
}
