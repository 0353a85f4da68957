export { type DumpedOp, dumpDefinition } from './dump.js';
export type { MountSpec, RunOptions, SecretMountOptions } from './exec-op.js';
export {
  type ChownSpec,
  type CopyOptions,
  copy,
  FileAction,
  type FileActionSpec,
  type MkdirOptions,
  type MkfileOptions,
  mkdir,
  mkfile,
  parseChown,
  type RmOptions,
  rm,
  type UserSpec,
} from './file-op.js';
export { type MarshalOptions, marshal } from './marshal.js';
export { merge } from './merge-op.js';
export type { OpOptions } from './op-options.js';
export { defaultPlatform, formatPlatform, type Platform } from './platform.js';
export { type ImageOptions, image, type LocalOptions, local, normalizeImageRef } from './source-op.js';
export { type ExecState, type NetworkMode, State, type StateMeta, scratch } from './state.js';
export type { Output, Vertex } from './vertex.js';
