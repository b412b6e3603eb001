import type { DocPath } from '../model/bundle.js';

/** Reads one variable of the sidecar's environment (cli/ fills it from process.env). */
export type EnvLookup = (name: string) => string | undefined;

/** LiteLLM's prefix for a value read from its environment (`api_key: os.environ/VENDOR_KEY`). */
export const ENV_PREFIX = 'os.environ/';

/** litellm_params with every `os.environ/NAME` string replaced by the variable's value. */
export interface ResolvedParams {
  readonly params: Readonly<Record<string, unknown>>;
  /** References whose variable is not set, with where they are (under litellm_params); the value is left out (undefined). */
  readonly missing: readonly { readonly name: string; readonly path: DocPath }[];
  /** The non-empty values substituted, longest first. */
  readonly secrets: readonly string[];
  /** Replaces every substituted value in a text by its `os.environ/NAME`: for messages and details. */
  readonly scrub: (text: string) => string;
}

const IDENTITY = (text: string): string => text;

/**
 * Resolves `os.environ/NAME` values anywhere in litellm_params (strings in mappings and lists, at
 * any depth; `guardrail`, the kind, excepted), as LiteLLM does when it initialises a guardrail.
 * The input is not changed; an unchanged input is returned as is.
 */
export function resolveEnvReferences(params: Readonly<Record<string, unknown>>, lookup: EnvLookup): ResolvedParams {
  const missing: { name: string; path: DocPath }[] = [];
  const byValue = new Map<string, string>();
  const walk = (value: unknown, path: DocPath): unknown => {
    if (typeof value === 'string') {
      if (!value.startsWith(ENV_PREFIX)) return value;
      const name = value.slice(ENV_PREFIX.length);
      const found = lookup(name);
      if (found === undefined) {
        missing.push({ name, path });
        return undefined;
      }
      if (found !== '') byValue.set(found, name);
      return found;
    }
    if (Array.isArray(value)) {
      const items = value.map((v: unknown, i) => walk(v, [...path, i]));
      return items.every((v, i) => v === value[i]) ? value : Object.freeze(items);
    }
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const entries = Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])] as const);
      return entries.every(([k, v]) => v === (value as Record<string, unknown>)[k]) ? value : Object.freeze(Object.fromEntries(entries));
    }
    return value;
  };
  const resolved: Record<string, unknown> = {};
  let changed = false;
  for (const [key, value] of Object.entries(params)) {
    const v = key === 'guardrail' ? value : walk(value, [key]);
    if (v !== value) changed = true;
    Object.defineProperty(resolved, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  const secrets = [...byValue.keys()].sort((a, b) => b.length - a.length);
  const scrub =
    secrets.length === 0
      ? IDENTITY
      : (text: string): string => {
          let out = text;
          for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(`${ENV_PREFIX}${byValue.get(secret) as string}`);
          return out;
        };
  return { params: changed ? Object.freeze(resolved) : params, missing, secrets, scrub };
}
