import type { Bundle } from '../../src/model/bundle.js';
import { parseBundleText } from '../../src/sources/document/bundle-text.js';

/** A Bundle from YAML (or JSON) text, through the yaml source's own parser. Throws like `load()` on bad text. */
export function bundleFromYaml(text: string, origin = 'test.yaml'): Bundle {
  return parseBundleText(text, origin);
}
