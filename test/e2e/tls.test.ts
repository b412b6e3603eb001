import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionServiceClient } from '../../src/gen/guardrail/pdp/v1/decision_service.js';
import { readTlsFiles, type TlsMaterial } from '../../src/server/tls.js';
import { callResolve, startApp, type Started } from '../helpers/app.js';

const EXAMPLE = new URL('../../examples/bundle.yaml', import.meta.url).pathname;
const FIXTURES = new URL('../fixtures/tls/', import.meta.url).pathname;
const pem = (name: string) => readFileSync(join(FIXTURES, name));

function material(clientCa?: string): TlsMaterial {
  const r = readTlsFiles({
    certPath: join(FIXTURES, 'server.pem'),
    keyPath: join(FIXTURES, 'server.key'),
    ...(clientCa === undefined ? {} : { clientCaPath: join(FIXTURES, clientCa) }),
  });
  if (r.material === undefined) throw new Error(r.problems.join('\n'));
  return r.material;
}

const trusting = (client?: 'client' | 'other-client'): ChannelCredentials =>
  client === undefined ? credentials.createSsl(pem('ca.pem')) : credentials.createSsl(pem('ca.pem'), pem(`${client}.key`), pem(`${client}.pem`));

let s: Started | undefined;
const clients: DecisionServiceClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await s?.stop();
  s = undefined;
});

/** Resolve through a new client with these credentials: the error code, or 'OK'. */
async function resolveWith(creds: ChannelCredentials): Promise<string> {
  const client = new DecisionServiceClient((s as Started).grpcAddress, creds);
  clients.push(client);
  return callResolve(client, {}).then(
    () => 'OK',
    (e: ServiceError) => status[e.code],
  );
}

describe('TLS on the decision API', () => {
  it('serves clients that trust its CA and refuses plaintext clients', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material() }, clientCredentials: trusting() });
    expect((await callResolve(s.client, {})).appliedPolicies).toEqual(['global-baseline']);
    expect(await resolveWith(credentials.createInsecure())).toBe('UNAVAILABLE');
  });

  it('refuses clients that do not trust its certificate', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material() }, clientCredentials: trusting() });
    expect(await resolveWith(credentials.createSsl(pem('other-ca.pem')))).toBe('UNAVAILABLE');
  });
});

describe('mTLS on the decision API', () => {
  it('serves a client whose certificate the client CA signed', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material('ca.pem') }, clientCredentials: trusting('client') });
    expect((await callResolve(s.client, {})).appliedPolicies).toEqual(['global-baseline']);
  });

  it('rejects a client without a certificate, and one signed by another CA', async () => {
    s = await startApp(EXAMPLE, { config: { tls: material('ca.pem') }, clientCredentials: trusting('client') });
    expect(await resolveWith(trusting())).toBe('UNAVAILABLE');
    expect(await resolveWith(trusting('other-client'))).toBe('UNAVAILABLE');
    expect(await resolveWith(credentials.createInsecure())).toBe('UNAVAILABLE');
  });
});

describe('listening beyond loopback', () => {
  it('refuses a plaintext non-loopback address with INVALID_CONFIG', async () => {
    const err = await startApp(EXAMPLE, { listen: { kind: 'tcp', host: '0.0.0.0', port: 0 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('0.0.0.0:0 is not a loopback address') });
  });

  it('listens on a non-loopback address with TLS', async () => {
    s = await startApp(EXAMPLE, { listen: { kind: 'tcp', host: '0.0.0.0', port: 0 }, config: { tls: material() }, clientCredentials: trusting() });
    const port = s.grpcAddress.split(':').at(-1);
    const client = new DecisionServiceClient(`127.0.0.1:${port}`, trusting());
    clients.push(client);
    expect((await callResolve(client, {})).appliedPolicies).toEqual(['global-baseline']);
  });

  it('listens on a non-loopback address in plaintext when explicitly allowed', async () => {
    s = await startApp(EXAMPLE, { listen: { kind: 'tcp', host: '0.0.0.0', port: 0 }, config: { isInsecureListenAllowed: true } });
    const port = s.grpcAddress.split(':').at(-1);
    const client = new DecisionServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(client);
    expect((await callResolve(client, {})).appliedPolicies).toEqual(['global-baseline']);
  });
});
