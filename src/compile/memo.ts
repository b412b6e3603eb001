/** Upper bound on memo entries per table; model strings come from requests, so tables must not grow without bound. */
export const MEMO_LIMIT = 4096;

/**
 * Memoizes a function of an optional string (a model name). Bounded: when the table is full it
 * is cleared, which keeps memory flat under adversarial models at the cost of recomputing.
 */
export function memoByModel<T>(fn: (model: string | undefined) => T): (model: string | undefined) => T {
  const table = new Map<string, T>();
  let missing: { value: T } | undefined;
  return (model) => {
    if (model === undefined) return (missing ??= { value: fn(undefined) }).value;
    let value = table.get(model);
    if (value === undefined && !table.has(model)) {
      value = fn(model);
      if (table.size >= MEMO_LIMIT) table.clear();
      table.set(model, value);
    }
    return value as T;
  };
}
