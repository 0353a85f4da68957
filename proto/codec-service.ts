import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { type DecodeOptions, decodeMessage, encodeMessage } from './codec.js';
import { InvalidArgumentError } from './errors.js';
import { kilnSchema } from './schema.js';

/**
 * A grpc-js ServiceDefinition whose (de)serializers are Kiln's codec instead of proto-loader's: messages
 * are encoded deterministically and can be decoded with exact 64-bit integers (`longs: 'bigint'`),
 * which e.g. the fsutil DiffCopy stream needs for Stat.modTime (unix ns). Objects have the same shape as
 * with proto-loader (see codec.ts). `serviceName` is fully qualified, e.g. 'moby.filesync.v1.FileSync'.
 */
export function codecServiceDefinition(serviceName: string, opts?: DecodeOptions): grpc.ServiceDefinition {
  const service = kilnSchema().root.lookup(serviceName);
  if (!(service instanceof protobuf.Service)) {
    throw new InvalidArgumentError(`unknown gRPC service ${serviceName}`);
  }
  const methods = service.methodsArray.map((method): [string, grpc.MethodDefinition<object, object>] => {
    const req = typeNameOf(method.resolvedRequestType, method.requestType);
    const res = typeNameOf(method.resolvedResponseType, method.responseType);
    return [
      method.name,
      {
        path: `/${serviceName}/${method.name}`,
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        requestSerialize: (value: object) => Buffer.from(encodeMessage(req, value)),
        requestDeserialize: (bytes: Buffer) => decodeMessage<object>(req, bytes, opts),
        responseSerialize: (value: object) => Buffer.from(encodeMessage(res, value)),
        responseDeserialize: (bytes: Buffer) => decodeMessage<object>(res, bytes, opts),
        originalName: method.name,
      },
    ];
  });
  return Object.fromEntries(methods);
}

function typeNameOf(resolved: protobuf.Type | null, declared: string): string {
  if (resolved === null) throw new InvalidArgumentError(`unresolved gRPC message type ${declared}`);
  return resolved.fullName.replace(/^\./, '');
}
