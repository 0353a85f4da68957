import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BuildInput as _pb_BuildInput, BuildInput__Output as _pb_BuildInput__Output } from './pb/BuildInput.js';
import type { BuildOp as _pb_BuildOp, BuildOp__Output as _pb_BuildOp__Output } from './pb/BuildOp.js';
import type { CDIDevice as _pb_CDIDevice, CDIDevice__Output as _pb_CDIDevice__Output } from './pb/CDIDevice.js';
import type { CacheOpt as _pb_CacheOpt, CacheOpt__Output as _pb_CacheOpt__Output } from './pb/CacheOpt.js';
import type { ChownOpt as _pb_ChownOpt, ChownOpt__Output as _pb_ChownOpt__Output } from './pb/ChownOpt.js';
import type { Definition as _pb_Definition, Definition__Output as _pb_Definition__Output } from './pb/Definition.js';
import type { DiffOp as _pb_DiffOp, DiffOp__Output as _pb_DiffOp__Output } from './pb/DiffOp.js';
import type { ExecOp as _pb_ExecOp, ExecOp__Output as _pb_ExecOp__Output } from './pb/ExecOp.js';
import type { ExportCache as _pb_ExportCache, ExportCache__Output as _pb_ExportCache__Output } from './pb/ExportCache.js';
import type { FileAction as _pb_FileAction, FileAction__Output as _pb_FileAction__Output } from './pb/FileAction.js';
import type { FileActionCopy as _pb_FileActionCopy, FileActionCopy__Output as _pb_FileActionCopy__Output } from './pb/FileActionCopy.js';
import type { FileActionMkDir as _pb_FileActionMkDir, FileActionMkDir__Output as _pb_FileActionMkDir__Output } from './pb/FileActionMkDir.js';
import type { FileActionMkFile as _pb_FileActionMkFile, FileActionMkFile__Output as _pb_FileActionMkFile__Output } from './pb/FileActionMkFile.js';
import type { FileActionRm as _pb_FileActionRm, FileActionRm__Output as _pb_FileActionRm__Output } from './pb/FileActionRm.js';
import type { FileActionSymlink as _pb_FileActionSymlink, FileActionSymlink__Output as _pb_FileActionSymlink__Output } from './pb/FileActionSymlink.js';
import type { FileOp as _pb_FileOp, FileOp__Output as _pb_FileOp__Output } from './pb/FileOp.js';
import type { HostIP as _pb_HostIP, HostIP__Output as _pb_HostIP__Output } from './pb/HostIP.js';
import type { Input as _pb_Input, Input__Output as _pb_Input__Output } from './pb/Input.js';
import type { LinuxResources as _pb_LinuxResources, LinuxResources__Output as _pb_LinuxResources__Output } from './pb/LinuxResources.js';
import type { Location as _pb_Location, Location__Output as _pb_Location__Output } from './pb/Location.js';
import type { Locations as _pb_Locations, Locations__Output as _pb_Locations__Output } from './pb/Locations.js';
import type { LowerDiffInput as _pb_LowerDiffInput, LowerDiffInput__Output as _pb_LowerDiffInput__Output } from './pb/LowerDiffInput.js';
import type { MergeInput as _pb_MergeInput, MergeInput__Output as _pb_MergeInput__Output } from './pb/MergeInput.js';
import type { MergeOp as _pb_MergeOp, MergeOp__Output as _pb_MergeOp__Output } from './pb/MergeOp.js';
import type { Meta as _pb_Meta, Meta__Output as _pb_Meta__Output } from './pb/Meta.js';
import type { Mount as _pb_Mount, Mount__Output as _pb_Mount__Output } from './pb/Mount.js';
import type { NamedUserOpt as _pb_NamedUserOpt, NamedUserOpt__Output as _pb_NamedUserOpt__Output } from './pb/NamedUserOpt.js';
import type { Op as _pb_Op, Op__Output as _pb_Op__Output } from './pb/Op.js';
import type { OpMetadata as _pb_OpMetadata, OpMetadata__Output as _pb_OpMetadata__Output } from './pb/OpMetadata.js';
import type { Platform as _pb_Platform, Platform__Output as _pb_Platform__Output } from './pb/Platform.js';
import type { Position as _pb_Position, Position__Output as _pb_Position__Output } from './pb/Position.js';
import type { ProgressGroup as _pb_ProgressGroup, ProgressGroup__Output as _pb_ProgressGroup__Output } from './pb/ProgressGroup.js';
import type { ProxyEnv as _pb_ProxyEnv, ProxyEnv__Output as _pb_ProxyEnv__Output } from './pb/ProxyEnv.js';
import type { Range as _pb_Range, Range__Output as _pb_Range__Output } from './pb/Range.js';
import type { SSHOpt as _pb_SSHOpt, SSHOpt__Output as _pb_SSHOpt__Output } from './pb/SSHOpt.js';
import type { SecretEnv as _pb_SecretEnv, SecretEnv__Output as _pb_SecretEnv__Output } from './pb/SecretEnv.js';
import type { SecretOpt as _pb_SecretOpt, SecretOpt__Output as _pb_SecretOpt__Output } from './pb/SecretOpt.js';
import type { Source as _pb_Source, Source__Output as _pb_Source__Output } from './pb/Source.js';
import type { SourceInfo as _pb_SourceInfo, SourceInfo__Output as _pb_SourceInfo__Output } from './pb/SourceInfo.js';
import type { SourceOp as _pb_SourceOp, SourceOp__Output as _pb_SourceOp__Output } from './pb/SourceOp.js';
import type { TmpfsOpt as _pb_TmpfsOpt, TmpfsOpt__Output as _pb_TmpfsOpt__Output } from './pb/TmpfsOpt.js';
import type { Ulimit as _pb_Ulimit, Ulimit__Output as _pb_Ulimit__Output } from './pb/Ulimit.js';
import type { UpperDiffInput as _pb_UpperDiffInput, UpperDiffInput__Output as _pb_UpperDiffInput__Output } from './pb/UpperDiffInput.js';
import type { UserOpt as _pb_UserOpt, UserOpt__Output as _pb_UserOpt__Output } from './pb/UserOpt.js';
import type { WorkerConstraints as _pb_WorkerConstraints, WorkerConstraints__Output as _pb_WorkerConstraints__Output } from './pb/WorkerConstraints.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pb: {
    BuildInput: MessageTypeDefinition<_pb_BuildInput, _pb_BuildInput__Output>
    BuildOp: MessageTypeDefinition<_pb_BuildOp, _pb_BuildOp__Output>
    CDIDevice: MessageTypeDefinition<_pb_CDIDevice, _pb_CDIDevice__Output>
    CacheOpt: MessageTypeDefinition<_pb_CacheOpt, _pb_CacheOpt__Output>
    CacheSharingOpt: EnumTypeDefinition
    ChownOpt: MessageTypeDefinition<_pb_ChownOpt, _pb_ChownOpt__Output>
    Definition: MessageTypeDefinition<_pb_Definition, _pb_Definition__Output>
    DiffOp: MessageTypeDefinition<_pb_DiffOp, _pb_DiffOp__Output>
    ExecOp: MessageTypeDefinition<_pb_ExecOp, _pb_ExecOp__Output>
    ExportCache: MessageTypeDefinition<_pb_ExportCache, _pb_ExportCache__Output>
    FileAction: MessageTypeDefinition<_pb_FileAction, _pb_FileAction__Output>
    FileActionCopy: MessageTypeDefinition<_pb_FileActionCopy, _pb_FileActionCopy__Output>
    FileActionMkDir: MessageTypeDefinition<_pb_FileActionMkDir, _pb_FileActionMkDir__Output>
    FileActionMkFile: MessageTypeDefinition<_pb_FileActionMkFile, _pb_FileActionMkFile__Output>
    FileActionRm: MessageTypeDefinition<_pb_FileActionRm, _pb_FileActionRm__Output>
    FileActionSymlink: MessageTypeDefinition<_pb_FileActionSymlink, _pb_FileActionSymlink__Output>
    FileOp: MessageTypeDefinition<_pb_FileOp, _pb_FileOp__Output>
    HostIP: MessageTypeDefinition<_pb_HostIP, _pb_HostIP__Output>
    Input: MessageTypeDefinition<_pb_Input, _pb_Input__Output>
    LinuxResources: MessageTypeDefinition<_pb_LinuxResources, _pb_LinuxResources__Output>
    Location: MessageTypeDefinition<_pb_Location, _pb_Location__Output>
    Locations: MessageTypeDefinition<_pb_Locations, _pb_Locations__Output>
    LowerDiffInput: MessageTypeDefinition<_pb_LowerDiffInput, _pb_LowerDiffInput__Output>
    MergeInput: MessageTypeDefinition<_pb_MergeInput, _pb_MergeInput__Output>
    MergeOp: MessageTypeDefinition<_pb_MergeOp, _pb_MergeOp__Output>
    Meta: MessageTypeDefinition<_pb_Meta, _pb_Meta__Output>
    Mount: MessageTypeDefinition<_pb_Mount, _pb_Mount__Output>
    MountContentCache: EnumTypeDefinition
    MountType: EnumTypeDefinition
    NamedUserOpt: MessageTypeDefinition<_pb_NamedUserOpt, _pb_NamedUserOpt__Output>
    NetMode: EnumTypeDefinition
    Op: MessageTypeDefinition<_pb_Op, _pb_Op__Output>
    OpMetadata: MessageTypeDefinition<_pb_OpMetadata, _pb_OpMetadata__Output>
    Platform: MessageTypeDefinition<_pb_Platform, _pb_Platform__Output>
    Position: MessageTypeDefinition<_pb_Position, _pb_Position__Output>
    ProgressGroup: MessageTypeDefinition<_pb_ProgressGroup, _pb_ProgressGroup__Output>
    ProxyEnv: MessageTypeDefinition<_pb_ProxyEnv, _pb_ProxyEnv__Output>
    Range: MessageTypeDefinition<_pb_Range, _pb_Range__Output>
    SSHOpt: MessageTypeDefinition<_pb_SSHOpt, _pb_SSHOpt__Output>
    SecretEnv: MessageTypeDefinition<_pb_SecretEnv, _pb_SecretEnv__Output>
    SecretOpt: MessageTypeDefinition<_pb_SecretOpt, _pb_SecretOpt__Output>
    SecurityMode: EnumTypeDefinition
    Source: MessageTypeDefinition<_pb_Source, _pb_Source__Output>
    SourceInfo: MessageTypeDefinition<_pb_SourceInfo, _pb_SourceInfo__Output>
    SourceOp: MessageTypeDefinition<_pb_SourceOp, _pb_SourceOp__Output>
    TmpfsOpt: MessageTypeDefinition<_pb_TmpfsOpt, _pb_TmpfsOpt__Output>
    Ulimit: MessageTypeDefinition<_pb_Ulimit, _pb_Ulimit__Output>
    UpperDiffInput: MessageTypeDefinition<_pb_UpperDiffInput, _pb_UpperDiffInput__Output>
    UserOpt: MessageTypeDefinition<_pb_UserOpt, _pb_UserOpt__Output>
    WorkerConstraints: MessageTypeDefinition<_pb_WorkerConstraints, _pb_WorkerConstraints__Output>
  }
}

