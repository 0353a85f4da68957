/**
 * Plain-object shapes of the `pb` LLB messages (solver/pb/ops.proto), with the proto field names
 * exactly as declared, handed to proto/codec.ts `encodeMessage`. Fields holding a proto3 default are
 * left out on purpose, so the encoding matches Go's (which never writes defaults) byte for byte.
 */

export interface PbPlatform {
  Architecture?: string;
  OS?: string;
  Variant?: string;
  OSVersion?: string;
  OSFeatures?: string[];
}

export interface PbInput {
  digest: string;
  index?: number;
}

export interface PbSourceOp {
  identifier?: string;
  attrs?: Record<string, string>;
}

export interface PbNamedUserOpt {
  name?: string;
  input?: number;
}

/** oneof: exactly one of byName / byID is set (byID 0 is still written, as Go does for oneofs). */
export type PbUserOpt = { byName: PbNamedUserOpt } | { byID: number };

export interface PbChownOpt {
  user?: PbUserOpt;
  group?: PbUserOpt;
}

export interface PbFileActionCopy {
  src?: string;
  dest?: string;
  owner?: PbChownOpt;
  mode?: number;
  followSymlink?: boolean;
  dirCopyContents?: boolean;
  attemptUnpackDockerCompatibility?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  timestamp?: number;
  include_patterns?: string[];
  exclude_patterns?: string[];
  alwaysReplaceExistingDestPaths?: boolean;
  modeStr?: string;
  required_paths?: string[];
}

export interface PbFileActionMkFile {
  path?: string;
  mode?: number;
  data?: Uint8Array;
  owner?: PbChownOpt;
  timestamp?: number;
}

export interface PbFileActionMkDir {
  path?: string;
  mode?: number;
  makeParents?: boolean;
  owner?: PbChownOpt;
  timestamp?: number;
}

export interface PbFileActionRm {
  path?: string;
  allowNotFound?: boolean;
  allowWildcard?: boolean;
}

export interface PbFileAction {
  input?: number;
  secondaryInput?: number;
  output?: number;
  copy?: PbFileActionCopy;
  mkfile?: PbFileActionMkFile;
  mkdir?: PbFileActionMkDir;
  rm?: PbFileActionRm;
}

export interface PbFileOp {
  actions?: PbFileAction[];
}

export interface PbMergeOp {
  inputs?: { input?: number }[];
}

export interface PbProxyEnv {
  http_proxy?: string;
  https_proxy?: string;
  ftp_proxy?: string;
  no_proxy?: string;
  all_proxy?: string;
}

export interface PbMeta {
  args?: string[];
  env?: string[];
  cwd?: string;
  user?: string;
  proxy_env?: PbProxyEnv;
  extraHosts?: { Host?: string; IP?: string }[];
  hostname?: string;
  ulimit?: { Name?: string; Soft?: number; Hard?: number }[];
  cgroupParent?: string;
  removeMountStubsRecursive?: boolean;
}

export const MountTypes = { bind: 0, secret: 1, ssh: 2, cache: 3, tmpfs: 4 } as const;
export const CacheSharing = { shared: 0, private: 1, locked: 2 } as const;
export const NetModes = { sandbox: 0, host: 1, none: 2 } as const;
export const SecurityModes = { sandbox: 0, insecure: 1 } as const;

export interface PbSecretOrSshOpt {
  ID?: string;
  uid?: number;
  gid?: number;
  mode?: number;
  optional?: boolean;
}

export interface PbMount {
  input?: number;
  selector?: string;
  dest?: string;
  output?: number;
  readonly?: boolean;
  mountType?: number;
  TmpfsOpt?: { size?: number };
  cacheOpt?: { ID?: string; sharing?: number };
  secretOpt?: PbSecretOrSshOpt;
  SSHOpt?: PbSecretOrSshOpt;
}

export interface PbExecOp {
  meta?: PbMeta;
  mounts?: PbMount[];
  network?: number;
  security?: number;
  secretenv?: { ID?: string; name?: string; optional?: boolean }[];
}

export interface PbOp {
  inputs?: PbInput[];
  exec?: PbExecOp;
  source?: PbSourceOp;
  file?: PbFileOp;
  merge?: PbMergeOp;
  platform?: PbPlatform;
}

export interface PbProgressGroup {
  id?: string;
  name?: string;
  weak?: boolean;
}

export interface PbOpMetadata {
  ignore_cache?: boolean;
  description?: Record<string, string>;
  export_cache?: { Value?: boolean };
  caps?: Record<string, boolean>;
  progress_group?: PbProgressGroup;
}
