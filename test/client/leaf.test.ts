import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// src/client/ is what gateways import (guardrail-pdp/client): it must not pull in the server or the
// control path (docs/architecture.md, import rules). Only its own files, src/gen and grpc-js.
const DIR = new URL('../../src/client/', import.meta.url);

describe('src/client/', () => {
  it('imports only its own files, src/gen and @grpc/grpc-js', () => {
    const outside: string[] = [];
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, DIR), 'utf8');
      for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)) {
        const isAllowed = /^\.\/[^/]+\.js$/.test(spec!) || /^\.\.\/gen\//.test(spec!) || spec === '@grpc/grpc-js';
        if (!isAllowed) outside.push(`${file}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
