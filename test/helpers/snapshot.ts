import { compile } from '../../src/compile/compile.js';
import type { RequestContext, ResolveRequest } from '../../src/model/decision.js';
import type { ValidationMode } from '../../src/model/policy.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { bundleFromYaml } from './bundle.js';
import { finish } from '../../src/steps.js';

/** Compiles YAML into a snapshot, failing the test with every issue if it does not compile. */
export function snapshotOf(yaml: string, mode: ValidationMode = 'strict'): Snapshot {
  const result = finish(compile(bundleFromYaml(yaml), { mode }));
  if (!result.ok) throw new Error(`bundle did not compile:\n${result.issues.map((i) => `${i.rule}: ${i.message}`).join('\n')}`);
  return result.snapshot;
}

/** A context with everything missing unless given. */
export function ctx(partial: Partial<RequestContext> = {}): RequestContext {
  return { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [], ...partial };
}

/** A Resolve request for a context, with optional named policies. */
export function req(
  context: Partial<RequestContext> = {},
  named: Partial<Pick<ResolveRequest, 'requestPolicies' | 'keyPolicies' | 'teamPolicies'>> = {},
): ResolveRequest {
  return { context: ctx(context), requestPolicies: [], keyPolicies: [], teamPolicies: [], ...named };
}
