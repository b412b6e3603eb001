/** Upper bound on memo entries per table; model strings come from requests, so tables must not grow without bound. */
export const MEMO_LIMIT = 4096;

/**
 * Memoizes a function of an optional string (a model name). Bounded: when the table is full it
 * is cleared, which keeps memory flat under adversarial models at the cost of recomputing. The
 * table is made on the first call with a model: most memoized functions of a snapshot never run.
 */
export function memoByModel<T>(fn: (model: string | undefined) => T): (model: string | undefined) => T {
  let table: Map<string, T> | undefined;
  let missing: { value: T } | undefined;
  return (model) => {
    if (model === undefined) return (missing ??= { value: fn(undefined) }).value;
    table ??= new Map();
    let value = table.get(model);
    if (value === undefined && !table.has(model)) {
      value = fn(model);
      if (table.size >= MEMO_LIMIT) table.clear();
      table.set(model, value);
    }
    return value as T;
  };
}
