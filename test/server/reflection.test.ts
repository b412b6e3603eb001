import { once } from 'node:events';
import { createFileRegistry, fromBinary, ScalarType, type FileRegistry } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import {
  credentials,
  Server,
  ServerCredentials,
  status,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTOR_SET_BASE64 } from '../../src/gen/descriptor-set.js';
import * as v1 from '../../src/gen/grpc/reflection/v1/reflection.js';
import * as v1alpha from '../../src/gen/grpc/reflection/v1alpha/reflection.js';
import { addReflectionService } from '../../src/server/reflection.js';

type Request = Partial<v1.ServerReflectionRequest>;
type Response = v1.ServerReflectionResponse;

const SERVICES = [
  'guardrail.pdp.v1.DecisionService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

let server: Server;
let address: string;

beforeAll(async () => {
  server = new Server();
  addReflectionService(server, SERVICES);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

/** Opens one reflection stream (v1 unless told); `ask` sends a request and resolves with its answer. */
function openStream(
  Client: new (address: string, creds: ChannelCredentials) => v1.ServerReflectionClient = v1.ServerReflectionClient,
) {
  const client = new Client(address, credentials.createInsecure());
  const call = client.serverReflectionInfo();
  const ask = async (req: Request): Promise<Response> => {
    const next = once(call, 'data');
    call.write(v1.ServerReflectionRequest.fromPartial(req));
    return (await next)[0] as Response;
  };
  const close = async (): Promise<void> => {
    const ended = once(call, 'status');
    call.end();
    await ended;
    client.close();
  };
  return { call, ask, close };
}

const namesOf = (res: Response): string[] =>
  (res.fileDescriptorResponse?.fileDescriptorProto ?? []).map((b) => fromBinary(FileDescriptorProtoSchema, b).name);

/** Fetches what a reflection client would: each listed service's file, then every import by name. */
async function fetchReachableFiles(ask: (req: Request) => Promise<Response>): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const keep = (res: Response): void => {
    for (const bytes of res.fileDescriptorResponse?.fileDescriptorProto ?? []) {
      const name = fromBinary(FileDescriptorProtoSchema, bytes).name;
      if (!files.has(name)) files.set(name, bytes);
    }
  };
  for (const service of SERVICES) keep(await ask({ fileContainingSymbol: service }));
  const pending = [...files.keys()];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    for (const dep of fromBinary(FileDescriptorProtoSchema, files.get(name) ?? new Uint8Array()).dependency) {
      const res = await ask({ fileByFilename: dep });
      expect(namesOf(res)[0]).toBe(dep);
      keep(res);
    }
  }
  return files;
}

/** Links the served bytes as a strict client does; createFileRegistry throws on any unresolved reference. */
function strictRegistry(files: ReadonlyMap<string, Uint8Array>): FileRegistry {
  const set = new BinaryWriter();
  const written = new Set<string>();
  const write = (name: string): void => {
    const bytes = files.get(name);
    if (bytes === undefined) throw new Error(`${name} is imported but was never served`);
    if (written.has(name)) return;
    written.add(name);
    for (const dep of fromBinary(FileDescriptorProtoSchema, bytes).dependency) write(dep);
    set.tag(1, WireType.LengthDelimited).bytes(bytes); // FileDescriptorSet.file, imports first
  };
  for (const name of files.keys()) write(name);
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, set.finish()));
}

describe('addReflectionService', () => {
  it('lists the given services and echoes the host and request', async () => {
    const { ask, close } = openStream();
    const res = await ask({ host: 'pdp.local', listServices: '*' });
    expect(res.listServicesResponse?.service.map((s) => s.name)).toEqual(SERVICES);
    expect(res.validHost).toBe('pdp.local');
    expect(res.originalRequest).toMatchObject({ host: 'pdp.local', listServices: '*' });
    await close();
  });

  it('answers v1alpha clients the same as v1 clients', async () => {
    const alpha = openStream(v1alpha.ServerReflectionClient);
    const res = await alpha.ask({ fileContainingSymbol: 'guardrail.pdp.v1.DecisionService' });
    expect(namesOf(res)[0]).toBe('guardrail/pdp/v1/decision_service.proto');
    expect((await alpha.ask({ listServices: '' })).listServicesResponse?.service).toHaveLength(SERVICES.length);
    await alpha.close();
  });

  it('serves a file first, then each of its transitive imports once', async () => {
    const { ask, close } = openStream();
    const names = namesOf(await ask({ fileContainingSymbol: 'guardrail.pdp.v1.DecisionService' }));
    expect(names[0]).toBe('guardrail/pdp/v1/decision_service.proto');
    expect([...names].sort()).toEqual([
      'google/protobuf/timestamp.proto',
      'guardrail/pdp/v1/context.proto',
      'guardrail/pdp/v1/decision_service.proto',
      'guardrail/pdp/v1/pipeline.proto',
      'guardrail/pdp/v1/resolve.proto',
      'guardrail/pdp/v1/watch.proto',
    ]);
    await close();
  });

  it('serves byte for byte the descriptors buf built', async () => {
    const { ask, close } = openStream();
    const served = await fetchReachableFiles(ask);
    const built = fromBinary(FileDescriptorSetSchema, Buffer.from(DESCRIPTOR_SET_BASE64, 'base64')).file;
    const raw = new BinaryWriter();
    for (const { name } of built) raw.tag(1, WireType.LengthDelimited).bytes(served.get(name) ?? new Uint8Array());
    expect(Buffer.from(raw.finish()).toString('base64')).toBe(DESCRIPTOR_SET_BASE64);
    await close();
  });

  describe('validated strictly', () => {
    let registry: FileRegistry;
    beforeAll(async () => {
      const { ask, close } = openStream();
      registry = strictRegistry(await fetchReachableFiles(ask));
      await close();
    });

    it('describes the headers field as a real map', () => {
      const headers = registry.getMessage('guardrail.pdp.v1.ResolveResponse')?.fields.find((f) => f.name === 'headers');
      const string = ScalarType.STRING;
      expect(headers).toMatchObject({ fieldKind: 'map', mapKey: string, mapKind: 'scalar', scalar: string });
    });

    it('resolves loaded_at to the Timestamp of another file', () => {
      const loadedAt = registry.getMessage('guardrail.pdp.v1.WatchEvent')?.fields.find((f) => f.name === 'loaded_at');
      expect(loadedAt?.fieldKind).toBe('message');
      expect(loadedAt?.message?.typeName).toBe('google.protobuf.Timestamp');
      expect(loadedAt?.message?.file.proto.name).toBe('google/protobuf/timestamp.proto');
      expect(loadedAt?.parent.file.proto.name).toBe('guardrail/pdp/v1/watch.proto');
    });

    it.each([
      ['guardrail.pdp.v1.DecisionService', [
        ['Resolve', 'unary', 'guardrail.pdp.v1.ResolveRequest', 'guardrail.pdp.v1.ResolveResponse'],
        ['ExecutePipeline', 'unary',
          'guardrail.pdp.v1.ExecutePipelineRequest', 'guardrail.pdp.v1.ExecutePipelineResponse'],
        ['Watch', 'server_streaming', 'guardrail.pdp.v1.WatchRequest', 'guardrail.pdp.v1.WatchEvent'],
      ]],
      ['grpc.health.v1.Health', [
        ['Check', 'unary', 'grpc.health.v1.HealthCheckRequest', 'grpc.health.v1.HealthCheckResponse'],
        ['Watch', 'server_streaming', 'grpc.health.v1.HealthCheckRequest', 'grpc.health.v1.HealthCheckResponse'],
        ['List', 'unary', 'grpc.health.v1.HealthListRequest', 'grpc.health.v1.HealthListResponse'],
      ]],
    ])('describes every method of %s with its input and output types', (service, methods) => {
      const described = registry.getService(service)?.methods;
      expect(described?.map((m) => [m.name, m.methodKind, m.input.typeName, m.output.typeName])).toEqual(methods);
    });
  });

  it.each([
    ['a method', 'guardrail.pdp.v1.DecisionService.Resolve', 'guardrail/pdp/v1/decision_service.proto'],
    ['a nested enum', 'guardrail.pdp.v1.WatchEvent.Kind', 'guardrail/pdp/v1/watch.proto'],
    ['a field', 'guardrail.pdp.v1.ResolveResponse.headers', 'guardrail/pdp/v1/resolve.proto'],
    ['an enum value', 'guardrail.pdp.v1.BLOCK', 'guardrail/pdp/v1/pipeline.proto'],
  ])('finds the file containing %s', async (_kind, symbol, file) => {
    const { ask, close } = openStream();
    expect(namesOf(await ask({ fileContainingSymbol: symbol }))[0]).toBe(file);
    await close();
  });

  it('answers an unknown symbol with NOT_FOUND and keeps the stream open', async () => {
    const { ask, close } = openStream();
    const missing = await ask({ fileContainingSymbol: 'guardrail.pdp.v1.Nope' });
    expect(missing.errorResponse).toEqual({
      errorCode: status.NOT_FOUND,
      errorMessage: 'symbol not found: guardrail.pdp.v1.Nope',
    });
    expect((await ask({ fileByFilename: 'no/such.proto' })).errorResponse?.errorCode).toBe(status.NOT_FOUND);
    expect(namesOf(await ask({ fileByFilename: 'health/v1/health.proto' }))).toEqual(['health/v1/health.proto']);
    await close();
  });

  it('reports no extensions for known messages and NOT_FOUND otherwise', async () => {
    const { ask, close } = openStream();
    const known = await ask({ allExtensionNumbersOfType: 'guardrail.pdp.v1.WatchEvent' });
    expect(known.allExtensionNumbersResponse).toEqual({
      baseTypeName: 'guardrail.pdp.v1.WatchEvent',
      extensionNumber: [],
    });
    const unknown = await ask({ allExtensionNumbersOfType: 'guardrail.pdp.v1.Nope' });
    expect(unknown.errorResponse?.errorCode).toBe(status.NOT_FOUND);
    const containingType = 'guardrail.pdp.v1.WatchEvent';
    const ext = await ask({ fileContainingExtension: { containingType, extensionNumber: 100 } });
    expect(ext.errorResponse?.errorCode).toBe(status.NOT_FOUND);
    await close();
  });

  it('ends the stream with OK when the client half-closes', async () => {
    const { call, ask } = openStream();
    await ask({ listServices: '' });
    const ended = once(call, 'status');
    call.end();
    expect((await ended)[0]).toMatchObject({ code: status.OK });
  });

  it('keeps serving after a client cancels its stream', async () => {
    const first = openStream();
    await first.ask({ listServices: '' });
    const failed = once(first.call, 'error');
    first.call.cancel();
    expect(((await failed)[0] as ServiceError).code).toBe(status.CANCELLED);
    const second = openStream();
    expect((await second.ask({ listServices: '' })).listServicesResponse?.service).toHaveLength(SERVICES.length);
    await second.close();
  });

  it('refuses to list a service the descriptor set does not describe', () => {
    expect(() => addReflectionService(new Server(), ['acme.v1.Unknown'])).toThrow(/acme\.v1\.Unknown/);
  });
});
