import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import type { ProtoGrpcType as AuthProto } from './generated/auth.js';
import type { ProtoGrpcType as ControlProto } from './generated/control.js';
import type { ProtoGrpcType as FileSyncProto } from './generated/filesync.js';
import type { ProtoGrpcType as GatewayProto } from './generated/gateway.js';
import type { ProtoGrpcType as HealthProto } from './generated/health.js';
import type { ProtoGrpcType as SecretsProto } from './generated/secrets.js';
import type { ProtoGrpcType as SshProto } from './generated/ssh.js';
import { InvalidArgumentError } from './errors.js';
import { loadRoot } from './schema.js';

/**
 * How every Kiln gRPC service turns messages into objects (protobufjs toObject options, as
 * @grpc/proto-loader names them); the generated types in proto/generated/ are produced with the
 * same settings (proto/tools/gen-proto-types.mjs), so they describe these objects.
 */
export const protoLoaderOptions = {
  keepCase: true,
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  arrays: true,
} as const satisfies protoLoader.Options;

/** The .proto files (relative to protoDir()) that declare the services Kiln serves or calls. */
export const serviceProtoFiles = [
  'moby/buildkit/v1/control.proto',
  'moby/buildkit/v1/frontend/gateway.proto',
  'moby/filesync/v1/filesync.proto',
  'moby/filesync/v1/auth.proto',
  'moby/buildkit/secrets/v1/secrets.proto',
  'moby/sshforward/v1/ssh.proto',
  'grpc/health/v1/health.proto',
] as const;

/** The grpc-js package object of all Kiln services, typed by the generated ProtoGrpcType declarations. */
export type KilnGrpcType = ControlProto &
  GatewayProto &
  FileSyncProto &
  AuthProto &
  SecretsProto &
  SshProto &
  HealthProto;

type Pkg = KilnGrpcType;

/** Client constructors; each has `.service`, the ServiceDefinition to pass to `server.addService`. */
export interface KilnGrpcServices {
  /** Every Kiln message and service, as protobufjs reflection. */
  readonly root: protobuf.Root;
  readonly Control: Pkg['moby']['buildkit']['v1']['Control'];
  readonly LLBBridge: Pkg['moby']['buildkit']['v1']['frontend']['LLBBridge'];
  readonly FileSync: Pkg['moby']['filesync']['v1']['FileSync'];
  readonly FileSend: Pkg['moby']['filesync']['v1']['FileSend'];
  readonly Auth: Pkg['moby']['filesync']['v1']['Auth'];
  readonly Secrets: Pkg['moby']['buildkit']['secrets']['v1']['Secrets'];
  readonly SSH: Pkg['moby']['sshforward']['v1']['SSH'];
  readonly Health: Pkg['grpc']['health']['v1']['Health'];
}

/** The fully qualified names of the services, as KilnGrpcServices calls them. */
const serviceNames = {
  Control: 'moby.buildkit.v1.Control',
  LLBBridge: 'moby.buildkit.v1.frontend.LLBBridge',
  FileSync: 'moby.filesync.v1.FileSync',
  FileSend: 'moby.filesync.v1.FileSend',
  Auth: 'moby.filesync.v1.Auth',
  Secrets: 'moby.buildkit.secrets.v1.Secrets',
  SSH: 'moby.sshforward.v1.SSH',
  Health: 'grpc.health.v1.Health',
} as const;

/**
 * A grpc-js ServiceDefinition for `name` whose messages are plain objects shaped by
 * protoLoaderOptions: the same (de)serialisation @grpc/proto-loader builds (fromObject + encode;
 * decode + toObject), without the per-method file descriptors it also computes, which made up
 * most of kilnctl's start-up.
 */
function serviceDefinition(root: protobuf.Root, name: string): grpc.ServiceDefinition {
  const service = root.lookupService(name);
  const methods = service.methodsArray.map((method): [string, grpc.MethodDefinition<object, object>] => {
    const req = method.resolvedRequestType;
    const res = method.resolvedResponseType;
    if (!req || !res) throw new InvalidArgumentError(`${name}.${method.name}: unresolved message type`);
    return [
      method.name,
      {
        path: `/${name}/${method.name}`,
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        requestSerialize: (value: object) =>
          encodedForm(value) ?? asBuffer(req.encode(req.fromObject(value)).finish()),
        requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), protoLoaderOptions),
        responseSerialize: (value: object) =>
          encodedForm(value) ?? asBuffer(res.encode(res.fromObject(value)).finish()),
        responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), protoLoaderOptions),
        originalName: method.name,
      },
    ];
  });
  return Object.fromEntries(methods);
}

/**
 * A message object may carry its own encoding under this key (the session tunnel builds its
 * BytesMessages in place): the serialisers send those bytes as they are, not a fresh encoding of
 * the fields. The fields must still describe the same message, for serialisers that ignore the key.
 */
export const EncodedMessage = Symbol('kiln.encodedMessage');

function encodedForm(value: object): Buffer | undefined {
  const bytes: unknown = (value as { [EncodedMessage]?: unknown })[EncodedMessage];
  return bytes instanceof Uint8Array ? asBuffer(bytes) : undefined;
}

/**
 * protobufjs's writer already returns a Buffer under Node: wrap, never copy (a session tunnel's
 * BytesMessages carry every byte of a build's context and exports).
 */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The gRPC services: client constructors whose `.service` is the ServiceDefinition for
 * `server.addService`. Built from proto/generated/descriptor.ts (or the .proto files under `dir`).
 * Call it once in a composition root and pass the result down.
 */
export function loadGrpcServices(dir?: string): KilnGrpcServices {
  const root = loadRoot(dir);
  const constructor = (name: string) => grpc.makeClientConstructor(serviceDefinition(root, name), name);
  // The generated ProtoGrpcType declarations describe these constructors.
  const typed = <T>(name: string) => constructor(name) as unknown as T;
  type Services = Omit<KilnGrpcServices, 'root'>;
  return {
    root,
    Control: typed<Services['Control']>(serviceNames.Control),
    LLBBridge: typed<Services['LLBBridge']>(serviceNames.LLBBridge),
    FileSync: typed<Services['FileSync']>(serviceNames.FileSync),
    FileSend: typed<Services['FileSend']>(serviceNames.FileSend),
    Auth: typed<Services['Auth']>(serviceNames.Auth),
    Secrets: typed<Services['Secrets']>(serviceNames.Secrets),
    SSH: typed<Services['SSH']>(serviceNames.SSH),
    Health: typed<Services['Health']>(serviceNames.Health),
  };
}
