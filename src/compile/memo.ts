/** Upper bound on memo entries per table; model strings come from requests, so tables must not grow without bound. */
export const MEMO_LIMIT = 4096;

/**
 * Model names longer than this are not memoized (computed on every call): they would cost more
 * than they save, and no real model name is this long. Conditions run bounded on them anyway (see
 * DIRECT_MAX_MODEL_LENGTH in condition.ts).
 */
export const MEMO_MAX_KEY_LENGTH = 256;

/**
 * Upper bound on what every memo table of the process holds together, in estimated bytes. A cap
 * per table alone multiplies by the number of tables (a few per distinct condition, per snapshot
 * alive): 2,000 conditions x 4,096 entries of 4,000-character models grew the heap by 455 MiB.
 * When an entry would cross it, every table is cleared.
 */
export const MEMO_BUDGET_BYTES = 16 * 1024 * 1024;

/**
 * What an entry is counted as: the Map's slots for it (measured ~30 bytes per entry, the tables'
 * spare capacity included) and the value, plus two bytes per key character, as if no table shared
 * its key strings with another (they usually do: the same request's model), so the real heap used
 * stays below the count.
 */
const ENTRY_BYTES = 40;

/** The bytes counted for one table; kept apart from it, so the finalizer can read it once the table is gone. */
interface Account {
  bytes: number;
}

/** One memo table. */
interface Table {
  readonly map: Map<string, unknown>;
  readonly account: Account;
}

// Every table that holds entries, weakly: a table belongs to a compiled condition or policy and dies
// with its snapshot, when the finalizer takes its bytes off the count.
const tables = new Set<WeakRef<Table>>();
let totalBytes = 0;
const finalizer = new FinalizationRegistry<{ readonly ref: WeakRef<Table>; readonly account: Account }>(({ ref, account }) => {
  tables.delete(ref);
  totalBytes -= account.bytes;
});

/** Counted bytes and tables alive (tests and measurements). */
export function memoUsage(): { readonly bytes: number; readonly tables: number } {
  return { bytes: totalBytes, tables: tables.size };
}

function clearAll(): void {
  for (const ref of tables) {
    const table = ref.deref();
    if (table === undefined) continue;
    table.map.clear();
    table.account.bytes = 0;
  }
  totalBytes = 0;
}

/**
 * Memoizes a function of an optional string (a model name). Bounded by entries (MEMO_LIMIT per
 * table: a full table is cleared) and by bytes (MEMO_BUDGET_BYTES over every table of the process:
 * crossing it clears them all); names longer than MEMO_MAX_KEY_LENGTH are computed every time.
 * Clearing keeps memory flat under adversarial models at the cost of recomputing. The table is made
 * on the first call with a model: most memoized functions of a snapshot never run.
 */
export function memoByModel<T>(fn: (model: string | undefined) => T): (model: string | undefined) => T {
  let table: Table | undefined;
  let missing: { value: T } | undefined;
  return (model) => {
    if (model === undefined) return (missing ??= { value: fn(undefined) }).value;
    if (model.length > MEMO_MAX_KEY_LENGTH) return fn(model);
    if (table === undefined) {
      table = { map: new Map(), account: { bytes: 0 } };
      const ref = new WeakRef(table);
      tables.add(ref);
      finalizer.register(table, { ref, account: table.account });
    }
    const { map, account } = table;
    let value = map.get(model) as T | undefined;
    if (value === undefined && !map.has(model)) {
      value = fn(model);
      const cost = ENTRY_BYTES + 2 * model.length;
      if (map.size >= MEMO_LIMIT) {
        map.clear();
        totalBytes -= account.bytes;
        account.bytes = 0;
      }
      if (totalBytes + cost > MEMO_BUDGET_BYTES) clearAll();
      map.set(model, value);
      account.bytes += cost;
      totalBytes += cost;
    }
    return value as T;
  };
}
