import { once } from 'node:events';
import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  type HealthCheckResponse,
} from '../../src/gen/health/v1/health.js';
import { PdpHealth } from '../../src/server/health.js';
import { waitFor } from '../helpers/watch.js';

const OVERALL = '';
const DECISIONS = 'guardrail.pdp.v1.DecisionService';

let server: Server;
let client: HealthClient;
let health: PdpHealth;

beforeEach(async () => {
  server = new Server();
  health = new PdpHealth();
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterEach(() => {
  client.close();
  server.forceShutdown();
});

/** Check(service) as a promise of the serving status. */
function check(service: string): Promise<ServingStatus> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
  );
}

describe('PdpHealth', () => {
  it.each([OVERALL, DECISIONS])('reports NOT_SERVING for "%s" until told otherwise', async (service) => {
    expect(await check(service)).toBe(ServingStatus.NOT_SERVING);
  });

  it.each([OVERALL, DECISIONS])('reports SERVING for "%s" after setServing(true)', async (service) => {
    health.setServing(true);
    expect(await check(service)).toBe(ServingStatus.SERVING);
  });

  it('reports NOT_SERVING again after setServing(false), as on shutdown', async () => {
    health.setServing(true);
    health.setServing(false);
    expect(await check(OVERALL)).toBe(ServingStatus.NOT_SERVING);
    expect(await check(DECISIONS)).toBe(ServingStatus.NOT_SERVING);
  });

  it('answers NOT_FOUND for a service it does not know', async () => {
    const err = await check('acme.v1.Unknown').catch((e: unknown) => e as ServiceError);
    expect(err).toMatchObject({ code: status.NOT_FOUND });
  });

  it('tells Watch callers when the status changes', async () => {
    const call = client.watch({ service: DECISIONS });
    const first = (await once(call, 'data'))[0] as HealthCheckResponse;
    expect(first.status).toBe(ServingStatus.NOT_SERVING);
    const next = once(call, 'data');
    health.setServing(true);
    expect(((await next)[0] as HealthCheckResponse).status).toBe(ServingStatus.SERVING);
    call.on('error', () => {}); // the cancel below surfaces as a CANCELLED error on the client
    call.cancel();
  });

  it('ends health Watch streams with status OK on endWatches, after a last NOT_SERVING', async () => {
    health.setServing(true);
    const call = client.watch({ service: OVERALL });
    const seen: ServingStatus[] = [];
    call.on('data', (r: HealthCheckResponse) => seen.push(r.status));
    const ended = new Promise<number>((resolve) => call.on('status', (s: { code: number }) => resolve(s.code)));
    call.on('error', () => {});
    await waitFor(() => seen.length === 1 && health.openWatches === 1);
    health.endWatches();
    expect(await ended).toBe(status.OK);
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect(health.openWatches).toBe(0);
  });

  it('stays NOT_SERVING after endWatches, and ends new Watch calls at once', async () => {
    health.endWatches();
    health.setServing(true); // e.g. a reload finishing during shutdown
    expect(await check(OVERALL)).toBe(ServingStatus.NOT_SERVING);
    const call = client.watch({ service: OVERALL });
    const seen: ServingStatus[] = [];
    call.on('data', (r: HealthCheckResponse) => seen.push(r.status));
    const code = await new Promise<number>((resolve) => call.on('status', (s: { code: number }) => resolve(s.code)));
    expect(code).toBe(status.OK);
    expect(seen).toEqual([ServingStatus.NOT_SERVING]);
  });

  it('lists both services through List', async () => {
    health.setServing(true);
    const statuses = await new Promise<Record<string, HealthCheckResponse>>((resolve, reject) =>
      client.list({}, (err, res) => (err ? reject(err) : resolve(res.statuses))),
    );
    expect(statuses).toEqual({
      [OVERALL]: { status: ServingStatus.SERVING },
      [DECISIONS]: { status: ServingStatus.SERVING },
    });
  });
});
