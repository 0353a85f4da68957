export { type DecodeOptions, decodeMessage, digestOf, encodeMessage } from './codec.js';
export { codecServiceDefinition } from './codec-service.js';
export {
  type KilnGrpcServices,
  type KilnGrpcType,
  loadGrpcServices,
  protoLoaderOptions,
  serviceProtoFiles,
} from './grpc-services.js';
export { protoDir, protoFiles } from './proto-dir.js';
