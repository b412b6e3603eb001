import { Counter, Gauge, Registry } from 'prom-client';

/** How one interval's change check ended. */
export type CheckResult = 'unchanged' | 'changed' | 'failed';

/** How one full read ended: a new db written, the same content as the served db, rows that do not validate, or a read or write error. */
export type SyncResult = 'written' | 'unchanged' | 'invalid' | 'failed';

/** The producer's (`compile --from-postgres --watch`) metrics, on their own registry. */
export interface PostgresSyncMetrics {
  readonly registry: Registry;
  /** One change check; `scanned` when it ran the fingerprint query (a scan of the tables), not only the statistics. */
  observeCheck(result: CheckResult, scanned: boolean, bytes: number): void;
  observeSync(result: SyncResult, bytes: number): void;
  /** The served db is known to match the database (a check found no change, or a db was written). */
  markCurrent(nowSeconds: number): void;
}

/**
 * The series (docs/postgres.md lists them): checks and full reads by result, bytes received from
 * Postgres by phase, and when the db was last known current. Labels come from the fixed sets above.
 */
export function createPostgresSyncMetrics(): PostgresSyncMetrics {
  const registry = new Registry();
  const checks = new Counter({
    name: 'pdp_postgres_checks_total',
    help: 'Change checks against LiteLLM\'s database (one per interval), by result: unchanged, changed, failed.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const scans = new Counter({
    name: 'pdp_postgres_check_scans_total',
    help: 'Change checks that scanned the tables for their fingerprint (the statistics moved, or every 10th check), out of pdp_postgres_checks_total.',
    registers: [registry],
  });
  const syncs = new Counter({
    name: 'pdp_postgres_syncs_total',
    help: 'Full reads after a change, by result: written (a new db), unchanged (same content), invalid (not served), failed.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'pdp_postgres_received_bytes_total',
    help: 'Bytes received from Postgres, connection setup included, by phase: check (an interval without a change) or read (one with a full read).',
    labelNames: ['phase'] as const,
    registers: [registry],
  });
  const current = new Gauge({
    name: 'pdp_postgres_last_current_timestamp_seconds',
    help: 'When the served db was last known to match the database (Unix time); 0 before the first success.',
    registers: [registry],
  });
  for (const r of ['unchanged', 'changed', 'failed']) checks.inc({ result: r }, 0);
  for (const r of ['written', 'unchanged', 'invalid', 'failed']) syncs.inc({ result: r }, 0);
  for (const p of ['check', 'read']) bytes.inc({ phase: p }, 0);
  current.set(0);
  return {
    registry,
    observeCheck(result, scanned, n) {
      checks.inc({ result });
      if (scanned && result !== 'failed') scans.inc();
      if (result !== 'changed') bytes.inc({ phase: 'check' }, n);
    },
    observeSync(result, n) {
      syncs.inc({ result });
      bytes.inc({ phase: 'read' }, n);
    },
    markCurrent(nowSeconds) {
      current.set(nowSeconds);
    },
  };
}
