import { describe, expect, it } from 'vitest';
import { executePipelineRequestFromJson, isContextJson, RequestJsonError, resolveRequestFromJson } from '../../src/cli/request-json.js';

describe('resolveRequestFromJson', () => {
  it('reads snake_case and lowerCamelCase names alike', () => {
    const snake = resolveRequestFromJson({ context: { team_alias: 't', tags: ['a'] }, key_policies: ['k'] }, 'in');
    const camel = resolveRequestFromJson({ context: { teamAlias: 't', tags: ['a'] }, keyPolicies: ['k'] }, 'in');
    expect(camel).toEqual(snake);
    expect(snake).toMatchObject({ context: { teamAlias: 't', tags: ['a'] }, keyPolicies: ['k'] });
  });

  it('rejects unknown fields and wrong types, naming the field and never the value', () => {
    expect(() => resolveRequestFromJson({ context: { team: 'secret' } }, 'in')).toThrow(
      "in.context has unknown field 'team'; expected one of team_alias, key_alias, model, tags",
    );
    expect(() => resolveRequestFromJson({ context: { model: 4 } }, 'in')).toThrow('in.context.model must be a string');
    expect(() => resolveRequestFromJson({ team_policies: ['a', 1] }, 'in')).toThrow('in.team_policies must be a list of strings');
    expect(() => resolveRequestFromJson(['secret'], 'in')).toThrow('in must be a JSON object');
  });
});

describe('RequestJsonError', () => {
  it('carries the path of the value that does not fit, as written', () => {
    const pathOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof RequestJsonError ? e.path : 'not a RequestJsonError';
      }
      return 'no error';
    };
    expect(pathOf(() => resolveRequestFromJson({ context: { teamAlias: 3 } }, 'in'))).toEqual(['context', 'teamAlias']);
    expect(pathOf(() => executePipelineRequestFromJson({ messages: [{ role: 'user' }, { rol: 'x' }] }, 'in'))).toEqual(['messages', 1, 'rol']);
    expect(pathOf(() => executePipelineRequestFromJson({ pipeline: { steps: [{ on_fail: 'STOP' }] } }, 'in'))).toEqual(['pipeline', 'steps', 0, 'on_fail']);
  });
});

describe('executePipelineRequestFromJson', () => {
  it('rejects an unknown enum name, naming the field', () => {
    expect(() => executePipelineRequestFromJson({ mode: 'DURING_CALL' }, 'in')).toThrow('in.mode must be one of MODE_UNSPECIFIED, PRE_CALL, POST_CALL');
  });
});

describe('isContextJson', () => {
  it('tells a RequestContext from a whole ResolveRequest', () => {
    expect(isContextJson({ team_alias: 't', keyAlias: 'k' })).toBe(true);
    expect(isContextJson({ context: { team_alias: 't' } })).toBe(false);
    expect(isContextJson(['team_alias'])).toBe(false);
  });
});
