import { readFileSync } from 'node:fs';
import type { TestPostgres } from './postgres.js';

/** LiteLLM's tables as its Prisma schema creates them (test/fixtures/litellm-postgres/schema.sql). */
export const LITELLM_SCHEMA_SQL = readFileSync(new URL('../fixtures/litellm-postgres/schema.sql', import.meta.url), 'utf8');

/** Creates LiteLLM's tables in `schema` (created if needed; `public` by default). */
export async function createLiteLLMTables(pg: TestPostgres, schema = 'public'): Promise<void> {
  await pg.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"; ${LITELLM_SCHEMA_SQL}; RESET search_path`);
}

/** A policy as LiteLLM's policy API takes it (PolicyCreateRequest). */
export interface PolicyRequest {
  readonly name: string;
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
  readonly inherit?: string;
  readonly description?: string;
  /** `{model: ...}`; LiteLLM stores `condition.model_dump()`. */
  readonly model?: string | null;
  /** `{mode, steps}`; LiteLLM stores `GuardrailPipeline(...).model_dump()`, every step field included. */
  readonly pipeline?: { mode: string; steps: { guardrail: string; on_pass?: string; on_fail?: string; pass_data?: boolean }[] };
}

/**
 * The writes LiteLLM's admin API makes, as SQL: ids are UUIDs, timestamps `now()` in UTC, JSON
 * columns hold what `json.dumps(model.model_dump())` gives (every field, nulls included).
 */
export class LiteLLMWrites {
  constructor(
    private readonly pg: TestPostgres,
    private readonly schema = 'public',
  ) {}

  private t(table: string): string {
    return `"${this.schema}"."${table}"`;
  }

  /** POST /policy/new: version 1, in production. Returns the policy_id. */
  async createPolicy(p: PolicyRequest): Promise<string> {
    const r = await this.pg.query<{ policy_id: string }>(
      `INSERT INTO ${this.t('LiteLLM_PolicyTable')} (policy_id, policy_name, version_number, version_status, is_latest, production_at,
         guardrails_add, guardrails_remove, inherit, description, condition, pipeline, created_at, updated_at, created_by, updated_by)
       VALUES (gen_random_uuid()::text, $1, 1, 'production', true, ${NOW}, $2, $3, $4, $5, COALESCE($6::jsonb, '{}'), $7::jsonb, ${NOW}, ${NOW}, 'admin', 'admin')
       RETURNING policy_id`,
      [p.name, p.add ?? [], p.remove ?? [], p.inherit ?? null, p.description ?? null, conditionJson(p), pipelineJson(p)],
    );
    return (r.rows[0] as { policy_id: string }).policy_id;
  }

  /** Creates a draft from a version: the next version number, a copy of its fields, latest from now on. */
  async createDraft(fromPolicyId: string): Promise<string> {
    const r = await this.pg.query<{ policy_id: string }>(
      `WITH src AS (SELECT * FROM ${this.t('LiteLLM_PolicyTable')} WHERE policy_id = $1),
            next AS (SELECT max(version_number) + 1 AS n FROM ${this.t('LiteLLM_PolicyTable')} WHERE policy_name = (SELECT policy_name FROM src)),
            demote AS (UPDATE ${this.t('LiteLLM_PolicyTable')} SET is_latest = false, updated_at = ${NOW}
                       WHERE policy_name = (SELECT policy_name FROM src) AND is_latest)
       INSERT INTO ${this.t('LiteLLM_PolicyTable')} (policy_id, policy_name, version_number, version_status, parent_version_id, is_latest,
         inherit, description, guardrails_add, guardrails_remove, condition, pipeline, created_at, updated_at, created_by, updated_by)
       SELECT gen_random_uuid()::text, policy_name, (SELECT n FROM next), 'draft', policy_id, true,
         inherit, description, guardrails_add, guardrails_remove, condition, pipeline, ${NOW}, ${NOW}, 'admin', 'admin' FROM src
       RETURNING policy_id`,
      [fromPolicyId],
    );
    return (r.rows[0] as { policy_id: string }).policy_id;
  }

  /** PUT /policy/{id} on a draft: the fields given, and updated_at. */
  async updateDraft(policyId: string, p: Partial<Omit<PolicyRequest, 'name'>>): Promise<void> {
    const sets: string[] = [`updated_at = ${NOW}`, `updated_by = 'admin'`];
    const values: unknown[] = [policyId];
    const set = (column: string, value: unknown, cast = ''): void => {
      values.push(value);
      sets.push(`${column} = $${values.length}${cast}`);
    };
    if (p.add !== undefined) set('guardrails_add', p.add);
    if (p.remove !== undefined) set('guardrails_remove', p.remove);
    if (p.inherit !== undefined) set('inherit', p.inherit);
    if (p.description !== undefined) set('description', p.description);
    if (p.model !== undefined) set('condition', conditionJson(p as PolicyRequest), '::jsonb');
    if (p.pipeline !== undefined) set('pipeline', pipelineJson(p as PolicyRequest), '::jsonb');
    await this.pg.query(`UPDATE ${this.t('LiteLLM_PolicyTable')} SET ${sets.join(', ')} WHERE policy_id = $1 AND version_status = 'draft'`, values);
  }

  /** Publishes a draft. */
  async publish(policyId: string): Promise<void> {
    await this.pg.query(
      `UPDATE ${this.t('LiteLLM_PolicyTable')} SET version_status = 'published', published_at = ${NOW}, updated_at = ${NOW} WHERE policy_id = $1`,
      [policyId],
    );
  }

  /** Promotes a published version to production; the previous production version goes back to published. */
  async promote(policyId: string): Promise<void> {
    await this.pg.query(
      `UPDATE ${this.t('LiteLLM_PolicyTable')} SET version_status = 'published', updated_at = ${NOW}
       WHERE version_status = 'production' AND policy_name = (SELECT policy_name FROM ${this.t('LiteLLM_PolicyTable')} WHERE policy_id = $1);
       UPDATE ${this.t('LiteLLM_PolicyTable')} SET version_status = 'production', production_at = ${NOW}, updated_at = ${NOW} WHERE policy_id = $1`.replace(
        /\$1/g,
        `'${policyId.replaceAll("'", "''")}'`,
      ),
    );
  }

  /** POST /policy/attachment/new. Returns the attachment_id. */
  async attach(a: { policy: string; scope?: string; teams?: string[]; keys?: string[]; models?: string[]; tags?: string[] }): Promise<string> {
    const r = await this.pg.query<{ attachment_id: string }>(
      `INSERT INTO ${this.t('LiteLLM_PolicyAttachmentTable')} (attachment_id, policy_name, scope, teams, keys, models, tags, created_at, updated_at, created_by, updated_by)
       VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5, $6, ${NOW}, ${NOW}, 'admin', 'admin') RETURNING attachment_id`,
      [a.policy, a.scope ?? null, a.teams ?? [], a.keys ?? [], a.models ?? [], a.tags ?? []],
    );
    return (r.rows[0] as { attachment_id: string }).attachment_id;
  }

  /** POST /guardrails (an admin's guardrail: active) or a team's submission (pending_review). */
  async createGuardrail(name: string, params: Record<string, unknown>, status: 'active' | 'pending_review' = 'active'): Promise<void> {
    await this.pg.query(
      `INSERT INTO ${this.t('LiteLLM_GuardrailsTable')} (guardrail_id, guardrail_name, litellm_params, guardrail_info, status, team_id, submitted_at, created_at, updated_at)
       VALUES (gen_random_uuid()::text, $1, $2::jsonb, '{}'::jsonb, $3, $4, $5, ${NOW}, ${NOW})`,
      [name, JSON.stringify(params), status, status === 'active' ? null : 'team-1', status === 'active' ? null : new Date()],
    );
  }

  /** A reviewer approves a team's guardrail. */
  async approveGuardrail(name: string): Promise<void> {
    await this.pg.query(`UPDATE ${this.t('LiteLLM_GuardrailsTable')} SET status = 'active', reviewed_at = ${NOW}, updated_at = ${NOW} WHERE guardrail_name = $1`, [name]);
  }
}

/** What LiteLLM's Python writes for `datetime.now(timezone.utc)` into TIMESTAMP(3). */
const NOW = `(now() AT TIME ZONE 'UTC')`;

function conditionJson(p: PolicyRequest): string | null {
  return p.model === undefined ? null : JSON.stringify({ model: p.model });
}

function pipelineJson(p: PolicyRequest): string | null {
  if (p.pipeline === undefined) return null;
  return JSON.stringify({
    mode: p.pipeline.mode,
    steps: p.pipeline.steps.map((s) => ({
      guardrail: s.guardrail,
      on_fail: s.on_fail ?? 'block',
      on_pass: s.on_pass ?? 'allow',
      pass_data: s.pass_data ?? false,
      modify_response_message: null,
    })),
  });
}
