import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTlsFiles } from '../../src/server/tls.js';

const FIXTURES = new URL('../fixtures/tls/', import.meta.url).pathname;
const f = (name: string) => join(FIXTURES, name);

describe('readTlsFiles', () => {
  it('reads a matching certificate and key, and a client CA', () => {
    const r = readTlsFiles({ certPath: f('server.pem'), keyPath: f('server.key'), clientCaPath: f('ca.pem') });
    expect(r.problems).toEqual([]);
    expect(r.material?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(r.material?.clientCa?.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('reports every unreadable file, naming the option and path', () => {
    const r = readTlsFiles({ certPath: '/nonexistent/cert.pem', keyPath: '/nonexistent/key.pem', clientCaPath: '/nonexistent/ca.pem' });
    expect(r.material).toBeUndefined();
    expect(r.problems).toEqual([
      '--tls-cert: cannot read /nonexistent/cert.pem: ENOENT',
      '--tls-key: cannot read /nonexistent/key.pem: ENOENT',
      '--tls-client-ca: cannot read /nonexistent/ca.pem: ENOENT',
    ]);
  });

  it('reports files that are not PEM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdp-tls-'));
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    const r = readTlsFiles({ certPath: join(dir, 'junk.pem'), keyPath: join(dir, 'junk.pem') });
    expect(r.problems).toEqual([
      `--tls-cert: ${join(dir, 'junk.pem')} is not a PEM certificate`,
      `--tls-key: ${join(dir, 'junk.pem')} is not a PEM private key`,
    ]);
  });

  it('reports a key that does not belong to the certificate', () => {
    const r = readTlsFiles({ certPath: f('server.pem'), keyPath: f('client.key') });
    expect(r.problems).toEqual([`--tls-key: ${f('client.key')} is not the private key of the certificate in ${f('server.pem')}`]);
  });
});
