import { createBundleFileSource } from './bundle-file.js';
import type { PolicySource } from './source.js';
import { createSqliteDbSource } from './sqlite/sqlite-db.js';

/** Where policies come from: a bundle file (YAML or JSON) or a SQLite db. */
export interface SourceConfig {
  readonly kind: 'bundle' | 'db';
  readonly path: string;
}

/** How a source watches for changes (serve only; the one-shot CLI commands never watch). */
export interface SourceWatchOptions {
  /** Quiet period after a change before it is reported (coalesces bursts of writes). */
  readonly debounceMs?: number;
  /** Called when watching fails (the source then may not see changes). */
  readonly onWatchError?: (err: Error) => void;
}

/** The one place that turns "bundle file or db" into a PolicySource, for `serve` and every CLI command. */
export function createSource(config: SourceConfig, watch: SourceWatchOptions = {}): PolicySource {
  const options = { path: config.path, ...watch };
  switch (config.kind) {
    case 'bundle':
      return createBundleFileSource(options);
    case 'db':
      return createSqliteDbSource(options);
  }
}
