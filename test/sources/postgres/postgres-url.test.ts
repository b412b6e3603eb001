import { describe, expect, it } from 'vitest';
import { parsePostgresUrl } from '../../../src/sources/postgres/postgres-url.js';

describe('parsePostgresUrl', () => {
  it('redacts the password in the userinfo and in password= parameters, and scrubs it from messages', () => {
    const t = parsePostgresUrl('postgresql://litellm:s3cr%40t-pw@db.internal:5432/litellm?sslmode=require&password=other-secret');
    expect(t.redacted).toBe('postgresql://litellm:***@db.internal:5432/litellm?sslmode=require&password=***');
    expect(t.scrub('auth failed for s3cr@t-pw and s3cr%40t-pw and other-secret')).toBe('auth failed for *** and *** and ***');
  });

  it('reads Prisma\'s ?schema= parameter and a Unix socket host', () => {
    const t = parsePostgresUrl('postgres://u:longpassword@/litellm?host=/var/run/postgresql&schema=litellm');
    expect(t.schema).toBe('litellm');
    expect(t.redacted).toBe('postgres://u:***@/litellm?host=/var/run/postgresql&schema=litellm');
    expect(parsePostgresUrl('postgresql://db/litellm').schema).toBeUndefined();
    expect(parsePostgresUrl('postgresql://db/litellm').redacted).toBe('postgresql://db/litellm');
  });

  it('refuses anything but a postgres URL without repeating its password', () => {
    expect(() => parsePostgresUrl('mysql://u:hunter22@db/x')).toThrow("'mysql://u:***@db/x' is not a postgres:// or postgresql:// URL");
  });
});
