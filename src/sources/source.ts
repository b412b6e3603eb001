import type { Bundle } from '../model/bundle.js';

/**
 * Where policies come from. `load` reads and parses once; it throws PdpError
 * SOURCE_UNAVAILABLE (cannot read) or BUNDLE_INVALID (cannot parse, with an `unparseable` issue).
 * `watch` is optional: it calls `onChange` when the source may have changed and returns a stop function.
 */
export interface PolicySource {
  readonly origin: string;
  load(): Promise<Bundle>;
  watch?(onChange: () => void): () => Promise<void>;
}
