import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { status, type Server, type ServerDuplexStream } from '@grpc/grpc-js';
import { PdpError } from '../errors.js';
import { DESCRIPTOR_SET_BASE64 } from '../gen/descriptor-set.js';
import * as v1 from '../gen/grpc/reflection/v1/reflection.js';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection.js';

// Server reflection over the FileDescriptorSet that buf compiled, not over proto-loader's
// reconstruction: @grpc/reflection's descriptors are invalid for map<> fields and cross-file
// references (grpcurl #519, grpc-node #3018), and strict clients reject them.

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;
/** One answer: exactly one member of the response's `message_response` oneof. */
type Answer = Omit<Response, 'validHost' | 'originalRequest'>;

/** What reflection can answer, built once from the embedded descriptor set. */
interface DescriptorIndex {
  /** File name -> the file's serialized FileDescriptorProto, as buf built it. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** File name -> the names of the files it imports. */
  readonly imports: ReadonlyMap<string, readonly string[]>;
  /** Fully-qualified symbol -> the name of the file that declares it. */
  readonly symbols: ReadonlyMap<string, string>;
  readonly messages: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
}

let cached: DescriptorIndex | undefined;

function descriptorIndex(): DescriptorIndex {
  cached ??= buildIndex(
    fromBinary(FileDescriptorSetSchema, Buffer.from(DESCRIPTOR_SET_BASE64, 'base64')).file,
  );
  return cached;
}

function buildIndex(fileProtos: readonly FileDescriptorProto[]): DescriptorIndex {
  const files = new Map<string, Buffer>();
  const imports = new Map<string, readonly string[]>();
  const symbols = new Map<string, string>();
  const messages = new Set<string>();
  const services = new Set<string>();
  for (const file of fileProtos) {
    files.set(file.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
    imports.set(file.name, file.dependency);
    const add = (name: string): void => {
      if (!symbols.has(name)) symbols.set(name, file.name);
    };
    const qualify = (scope: string, name: string): string => (scope === '' ? name : `${scope}.${name}`);
    const addEnum = (scope: string, e: EnumDescriptorProto): void => {
      const name = qualify(scope, e.name);
      add(name);
      // protoc scopes enum values next to their enum (pkg.VALUE), but some clients
      // (jhump/protoreflect, hence grpcurl) name them pkg.Enum.VALUE: answer both.
      for (const v of e.value) {
        add(qualify(scope, v.name));
        add(qualify(name, v.name));
      }
    };
    const addMessage = (scope: string, m: DescriptorProto): void => {
      const name = qualify(scope, m.name);
      add(name);
      messages.add(name);
      for (const f of [...m.field, ...m.extension, ...m.oneofDecl]) add(qualify(name, f.name));
      for (const e of m.enumType) addEnum(name, e);
      for (const n of m.nestedType) addMessage(name, n);
    };
    for (const m of file.messageType) addMessage(file.package, m);
    for (const e of file.enumType) addEnum(file.package, e);
    for (const x of file.extension) add(qualify(file.package, x.name));
    for (const s of file.service) {
      const name = qualify(file.package, s.name);
      add(name);
      services.add(name);
      for (const method of s.method) add(qualify(name, method.name));
    }
  }
  return { files, imports, symbols, messages, services };
}

/**
 * The file first, then its transitive imports, each once. The order matters: clients such as
 * grpcurl (jhump/protoreflect) take the first entry as the answer and the rest as imports.
 */
function withImports(index: DescriptorIndex, fileName: string): Answer {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || !index.files.has(name)) return;
    seen.add(name);
    for (const dep of index.imports.get(name) ?? []) visit(dep);
  };
  visit(fileName);
  const fileDescriptorProto = [...seen].flatMap((name) => index.files.get(name) ?? []);
  return { fileDescriptorResponse: { fileDescriptorProto } };
}

function notFound(errorMessage: string): Answer {
  return { errorResponse: { errorCode: status.NOT_FOUND, errorMessage } };
}

function answer(index: DescriptorIndex, listed: readonly { name: string }[], req: Request): Answer {
  if (req.listServices !== undefined) return { listServicesResponse: { service: [...listed] } };
  if (req.fileByFilename !== undefined) {
    const name = req.fileByFilename;
    return index.files.has(name) ? withImports(index, name) : notFound(`file not found: ${name}`);
  }
  if (req.fileContainingSymbol !== undefined) {
    const symbol = req.fileContainingSymbol;
    const file = index.symbols.get(symbol);
    return file === undefined ? notFound(`symbol not found: ${symbol}`) : withImports(index, file);
  }
  if (req.fileContainingExtension !== undefined) {
    const { containingType: type, extensionNumber: n } = req.fileContainingExtension;
    return index.messages.has(type)
      ? notFound(`extension not found: ${type} has no extension ${n}; no served file declares extensions`)
      : notFound(`symbol not found: ${type}`);
  }
  if (req.allExtensionNumbersOfType !== undefined) {
    const type = req.allExtensionNumbersOfType;
    return index.messages.has(type)
      ? { allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } }
      : notFound(`symbol not found: ${type}`);
  }
  // An error response rather than a stream error, so one odd request does not end the stream.
  return {
    errorResponse: {
      errorCode: status.INVALID_ARGUMENT,
      errorMessage:
        'empty reflection request: set one of list_services, file_by_filename, file_containing_symbol, ' +
        'file_containing_extension or all_extension_numbers_of_type',
    },
  };
}

function serve(
  call: ServerDuplexStream<Request, Response>,
  index: DescriptorIndex,
  listed: readonly { name: string }[],
): void {
  call.on('data', (req: Request) => {
    // After a cancel nobody reads the answer; writing would only buffer it.
    if (call.cancelled) return;
    call.write({ validHost: req.host, originalRequest: req, ...answer(index, listed, req) });
  });
  // Answers are written synchronously, so when the client half-closes every request has its answer.
  call.on('end', () => {
    if (!call.cancelled) call.end();
  });
}

/**
 * Registers grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection on
 * `server`, answering from the descriptors buf built (src/gen/descriptor-set.ts). `services` are
 * the fully-qualified names list_services returns; each must be described by the descriptor set,
 * else this throws (a listed service that cannot be resolved breaks every reflection client).
 */
export function addReflectionService(server: Server, services: readonly string[]): void {
  const index = descriptorIndex();
  const missing = services.filter((name) => !index.services.has(name));
  if (missing.length > 0) {
    throw new PdpError(
      'INTERNAL',
      `reflection cannot describe ${missing.join(', ')}: not in the embedded descriptor set; ` +
        'add its .proto to buf.yaml and run npm run gen',
    );
  }
  const listed = services.map((name) => ({ name }));
  const impl: v1.ServerReflectionServer = { serverReflectionInfo: (call) => serve(call, index, listed) };
  // v1alpha's messages are field-for-field v1's; this typed assignment makes tsc prove it.
  const alphaImpl: v1alpha.ServerReflectionServer = impl;
  server.addService(v1.ServerReflectionService, impl);
  server.addService(v1alpha.ServerReflectionService, alphaImpl);
}
