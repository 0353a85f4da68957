import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AuthProto } from './generated/auth.js';
import type { ProtoGrpcType as ControlProto } from './generated/control.js';
import type { ProtoGrpcType as FileSyncProto } from './generated/filesync.js';
import type { ProtoGrpcType as GatewayProto } from './generated/gateway.js';
import type { ProtoGrpcType as HealthProto } from './generated/health.js';
import type { ProtoGrpcType as SecretsProto } from './generated/secrets.js';
import type { ProtoGrpcType as SshProto } from './generated/ssh.js';
import { protoDir } from './proto-dir.js';

/**
 * The proto-loader options every Kiln gRPC service uses; the generated types in proto/generated/ are
 * produced with the same settings (proto/tools/gen-proto-types.mjs), so they describe these objects.
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
  readonly packageObject: KilnGrpcType;
  readonly Control: Pkg['moby']['buildkit']['v1']['Control'];
  readonly LLBBridge: Pkg['moby']['buildkit']['v1']['frontend']['LLBBridge'];
  readonly FileSync: Pkg['moby']['filesync']['v1']['FileSync'];
  readonly FileSend: Pkg['moby']['filesync']['v1']['FileSend'];
  readonly Auth: Pkg['moby']['filesync']['v1']['Auth'];
  readonly Secrets: Pkg['moby']['buildkit']['secrets']['v1']['Secrets'];
  readonly SSH: Pkg['moby']['sshforward']['v1']['SSH'];
  readonly Health: Pkg['grpc']['health']['v1']['Health'];
}

/** Loads the proto-loader package definition of all Kiln services from `dir` (default protoDir()). */
export function loadKilnPackageDefinition(dir: string = protoDir()): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...serviceProtoFiles], { ...protoLoaderOptions, includeDirs: [dir] });
}

/**
 * Loads the gRPC services. Call it once in a composition root and pass the result down: loading
 * parses every .proto file.
 */
export function loadGrpcServices(dir: string = protoDir()): KilnGrpcServices {
  // loadPackageDefinition returns an untyped GrpcObject; the generated ProtoGrpcType describes it.
  const pkg = grpc.loadPackageDefinition(loadKilnPackageDefinition(dir)) as unknown as KilnGrpcType;
  return {
    packageObject: pkg,
    Control: pkg.moby.buildkit.v1.Control,
    LLBBridge: pkg.moby.buildkit.v1.frontend.LLBBridge,
    FileSync: pkg.moby.filesync.v1.FileSync,
    FileSend: pkg.moby.filesync.v1.FileSend,
    Auth: pkg.moby.filesync.v1.Auth,
    Secrets: pkg.moby.buildkit.secrets.v1.Secrets,
    SSH: pkg.moby.sshforward.v1.SSH,
    Health: pkg.grpc.health.v1.Health,
  };
}
