import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from './google/rpc/Status.js';
import type { BuildHistoryEvent as _moby_buildkit_v1_BuildHistoryEvent, BuildHistoryEvent__Output as _moby_buildkit_v1_BuildHistoryEvent__Output } from './moby/buildkit/v1/BuildHistoryEvent.js';
import type { BuildHistoryRecord as _moby_buildkit_v1_BuildHistoryRecord, BuildHistoryRecord__Output as _moby_buildkit_v1_BuildHistoryRecord__Output } from './moby/buildkit/v1/BuildHistoryRecord.js';
import type { BuildHistoryRequest as _moby_buildkit_v1_BuildHistoryRequest, BuildHistoryRequest__Output as _moby_buildkit_v1_BuildHistoryRequest__Output } from './moby/buildkit/v1/BuildHistoryRequest.js';
import type { BuildResultInfo as _moby_buildkit_v1_BuildResultInfo, BuildResultInfo__Output as _moby_buildkit_v1_BuildResultInfo__Output } from './moby/buildkit/v1/BuildResultInfo.js';
import type { BytesMessage as _moby_buildkit_v1_BytesMessage, BytesMessage__Output as _moby_buildkit_v1_BytesMessage__Output } from './moby/buildkit/v1/BytesMessage.js';
import type { CacheOptions as _moby_buildkit_v1_CacheOptions, CacheOptions__Output as _moby_buildkit_v1_CacheOptions__Output } from './moby/buildkit/v1/CacheOptions.js';
import type { CacheOptionsEntry as _moby_buildkit_v1_CacheOptionsEntry, CacheOptionsEntry__Output as _moby_buildkit_v1_CacheOptionsEntry__Output } from './moby/buildkit/v1/CacheOptionsEntry.js';
import type { ControlClient as _moby_buildkit_v1_ControlClient, ControlDefinition as _moby_buildkit_v1_ControlDefinition } from './moby/buildkit/v1/Control.js';
import type { Descriptor as _moby_buildkit_v1_Descriptor, Descriptor__Output as _moby_buildkit_v1_Descriptor__Output } from './moby/buildkit/v1/Descriptor.js';
import type { DiskUsageRequest as _moby_buildkit_v1_DiskUsageRequest, DiskUsageRequest__Output as _moby_buildkit_v1_DiskUsageRequest__Output } from './moby/buildkit/v1/DiskUsageRequest.js';
import type { DiskUsageResponse as _moby_buildkit_v1_DiskUsageResponse, DiskUsageResponse__Output as _moby_buildkit_v1_DiskUsageResponse__Output } from './moby/buildkit/v1/DiskUsageResponse.js';
import type { Exporter as _moby_buildkit_v1_Exporter, Exporter__Output as _moby_buildkit_v1_Exporter__Output } from './moby/buildkit/v1/Exporter.js';
import type { InfoRequest as _moby_buildkit_v1_InfoRequest, InfoRequest__Output as _moby_buildkit_v1_InfoRequest__Output } from './moby/buildkit/v1/InfoRequest.js';
import type { InfoResponse as _moby_buildkit_v1_InfoResponse, InfoResponse__Output as _moby_buildkit_v1_InfoResponse__Output } from './moby/buildkit/v1/InfoResponse.js';
import type { ListWorkersRequest as _moby_buildkit_v1_ListWorkersRequest, ListWorkersRequest__Output as _moby_buildkit_v1_ListWorkersRequest__Output } from './moby/buildkit/v1/ListWorkersRequest.js';
import type { ListWorkersResponse as _moby_buildkit_v1_ListWorkersResponse, ListWorkersResponse__Output as _moby_buildkit_v1_ListWorkersResponse__Output } from './moby/buildkit/v1/ListWorkersResponse.js';
import type { PruneRequest as _moby_buildkit_v1_PruneRequest, PruneRequest__Output as _moby_buildkit_v1_PruneRequest__Output } from './moby/buildkit/v1/PruneRequest.js';
import type { SolveRequest as _moby_buildkit_v1_SolveRequest, SolveRequest__Output as _moby_buildkit_v1_SolveRequest__Output } from './moby/buildkit/v1/SolveRequest.js';
import type { SolveResponse as _moby_buildkit_v1_SolveResponse, SolveResponse__Output as _moby_buildkit_v1_SolveResponse__Output } from './moby/buildkit/v1/SolveResponse.js';
import type { StatusRequest as _moby_buildkit_v1_StatusRequest, StatusRequest__Output as _moby_buildkit_v1_StatusRequest__Output } from './moby/buildkit/v1/StatusRequest.js';
import type { StatusResponse as _moby_buildkit_v1_StatusResponse, StatusResponse__Output as _moby_buildkit_v1_StatusResponse__Output } from './moby/buildkit/v1/StatusResponse.js';
import type { UpdateBuildHistoryRequest as _moby_buildkit_v1_UpdateBuildHistoryRequest, UpdateBuildHistoryRequest__Output as _moby_buildkit_v1_UpdateBuildHistoryRequest__Output } from './moby/buildkit/v1/UpdateBuildHistoryRequest.js';
import type { UpdateBuildHistoryResponse as _moby_buildkit_v1_UpdateBuildHistoryResponse, UpdateBuildHistoryResponse__Output as _moby_buildkit_v1_UpdateBuildHistoryResponse__Output } from './moby/buildkit/v1/UpdateBuildHistoryResponse.js';
import type { UsageRecord as _moby_buildkit_v1_UsageRecord, UsageRecord__Output as _moby_buildkit_v1_UsageRecord__Output } from './moby/buildkit/v1/UsageRecord.js';
import type { Vertex as _moby_buildkit_v1_Vertex, Vertex__Output as _moby_buildkit_v1_Vertex__Output } from './moby/buildkit/v1/Vertex.js';
import type { VertexLog as _moby_buildkit_v1_VertexLog, VertexLog__Output as _moby_buildkit_v1_VertexLog__Output } from './moby/buildkit/v1/VertexLog.js';
import type { VertexStatus as _moby_buildkit_v1_VertexStatus, VertexStatus__Output as _moby_buildkit_v1_VertexStatus__Output } from './moby/buildkit/v1/VertexStatus.js';
import type { VertexWarning as _moby_buildkit_v1_VertexWarning, VertexWarning__Output as _moby_buildkit_v1_VertexWarning__Output } from './moby/buildkit/v1/VertexWarning.js';
import type { AttrConstraint as _moby_buildkit_v1_sourcepolicy_AttrConstraint, AttrConstraint__Output as _moby_buildkit_v1_sourcepolicy_AttrConstraint__Output } from './moby/buildkit/v1/sourcepolicy/AttrConstraint.js';
import type { Policy as _moby_buildkit_v1_sourcepolicy_Policy, Policy__Output as _moby_buildkit_v1_sourcepolicy_Policy__Output } from './moby/buildkit/v1/sourcepolicy/Policy.js';
import type { Rule as _moby_buildkit_v1_sourcepolicy_Rule, Rule__Output as _moby_buildkit_v1_sourcepolicy_Rule__Output } from './moby/buildkit/v1/sourcepolicy/Rule.js';
import type { Selector as _moby_buildkit_v1_sourcepolicy_Selector, Selector__Output as _moby_buildkit_v1_sourcepolicy_Selector__Output } from './moby/buildkit/v1/sourcepolicy/Selector.js';
import type { Update as _moby_buildkit_v1_sourcepolicy_Update, Update__Output as _moby_buildkit_v1_sourcepolicy_Update__Output } from './moby/buildkit/v1/sourcepolicy/Update.js';
import type { BuildkitVersion as _moby_buildkit_v1_types_BuildkitVersion, BuildkitVersion__Output as _moby_buildkit_v1_types_BuildkitVersion__Output } from './moby/buildkit/v1/types/BuildkitVersion.js';
import type { CDIDevice as _moby_buildkit_v1_types_CDIDevice, CDIDevice__Output as _moby_buildkit_v1_types_CDIDevice__Output } from './moby/buildkit/v1/types/CDIDevice.js';
import type { GCPolicy as _moby_buildkit_v1_types_GCPolicy, GCPolicy__Output as _moby_buildkit_v1_types_GCPolicy__Output } from './moby/buildkit/v1/types/GCPolicy.js';
import type { WorkerRecord as _moby_buildkit_v1_types_WorkerRecord, WorkerRecord__Output as _moby_buildkit_v1_types_WorkerRecord__Output } from './moby/buildkit/v1/types/WorkerRecord.js';
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
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any, _google_protobuf_Any__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
    rpc: {
      Status: MessageTypeDefinition<_google_rpc_Status, _google_rpc_Status__Output>
    }
  }
  moby: {
    buildkit: {
      v1: {
        BuildHistoryEvent: MessageTypeDefinition<_moby_buildkit_v1_BuildHistoryEvent, _moby_buildkit_v1_BuildHistoryEvent__Output>
        BuildHistoryEventType: EnumTypeDefinition
        BuildHistoryRecord: MessageTypeDefinition<_moby_buildkit_v1_BuildHistoryRecord, _moby_buildkit_v1_BuildHistoryRecord__Output>
        BuildHistoryRequest: MessageTypeDefinition<_moby_buildkit_v1_BuildHistoryRequest, _moby_buildkit_v1_BuildHistoryRequest__Output>
        BuildResultInfo: MessageTypeDefinition<_moby_buildkit_v1_BuildResultInfo, _moby_buildkit_v1_BuildResultInfo__Output>
        BytesMessage: MessageTypeDefinition<_moby_buildkit_v1_BytesMessage, _moby_buildkit_v1_BytesMessage__Output>
        CacheOptions: MessageTypeDefinition<_moby_buildkit_v1_CacheOptions, _moby_buildkit_v1_CacheOptions__Output>
        CacheOptionsEntry: MessageTypeDefinition<_moby_buildkit_v1_CacheOptionsEntry, _moby_buildkit_v1_CacheOptionsEntry__Output>
        Control: SubtypeConstructor<typeof grpc.Client, _moby_buildkit_v1_ControlClient> & { service: _moby_buildkit_v1_ControlDefinition }
        Descriptor: MessageTypeDefinition<_moby_buildkit_v1_Descriptor, _moby_buildkit_v1_Descriptor__Output>
        DiskUsageRequest: MessageTypeDefinition<_moby_buildkit_v1_DiskUsageRequest, _moby_buildkit_v1_DiskUsageRequest__Output>
        DiskUsageResponse: MessageTypeDefinition<_moby_buildkit_v1_DiskUsageResponse, _moby_buildkit_v1_DiskUsageResponse__Output>
        Exporter: MessageTypeDefinition<_moby_buildkit_v1_Exporter, _moby_buildkit_v1_Exporter__Output>
        InfoRequest: MessageTypeDefinition<_moby_buildkit_v1_InfoRequest, _moby_buildkit_v1_InfoRequest__Output>
        InfoResponse: MessageTypeDefinition<_moby_buildkit_v1_InfoResponse, _moby_buildkit_v1_InfoResponse__Output>
        ListWorkersRequest: MessageTypeDefinition<_moby_buildkit_v1_ListWorkersRequest, _moby_buildkit_v1_ListWorkersRequest__Output>
        ListWorkersResponse: MessageTypeDefinition<_moby_buildkit_v1_ListWorkersResponse, _moby_buildkit_v1_ListWorkersResponse__Output>
        PruneRequest: MessageTypeDefinition<_moby_buildkit_v1_PruneRequest, _moby_buildkit_v1_PruneRequest__Output>
        SolveRequest: MessageTypeDefinition<_moby_buildkit_v1_SolveRequest, _moby_buildkit_v1_SolveRequest__Output>
        SolveResponse: MessageTypeDefinition<_moby_buildkit_v1_SolveResponse, _moby_buildkit_v1_SolveResponse__Output>
        StatusRequest: MessageTypeDefinition<_moby_buildkit_v1_StatusRequest, _moby_buildkit_v1_StatusRequest__Output>
        StatusResponse: MessageTypeDefinition<_moby_buildkit_v1_StatusResponse, _moby_buildkit_v1_StatusResponse__Output>
        UpdateBuildHistoryRequest: MessageTypeDefinition<_moby_buildkit_v1_UpdateBuildHistoryRequest, _moby_buildkit_v1_UpdateBuildHistoryRequest__Output>
        UpdateBuildHistoryResponse: MessageTypeDefinition<_moby_buildkit_v1_UpdateBuildHistoryResponse, _moby_buildkit_v1_UpdateBuildHistoryResponse__Output>
        UsageRecord: MessageTypeDefinition<_moby_buildkit_v1_UsageRecord, _moby_buildkit_v1_UsageRecord__Output>
        Vertex: MessageTypeDefinition<_moby_buildkit_v1_Vertex, _moby_buildkit_v1_Vertex__Output>
        VertexLog: MessageTypeDefinition<_moby_buildkit_v1_VertexLog, _moby_buildkit_v1_VertexLog__Output>
        VertexStatus: MessageTypeDefinition<_moby_buildkit_v1_VertexStatus, _moby_buildkit_v1_VertexStatus__Output>
        VertexWarning: MessageTypeDefinition<_moby_buildkit_v1_VertexWarning, _moby_buildkit_v1_VertexWarning__Output>
        sourcepolicy: {
          AttrConstraint: MessageTypeDefinition<_moby_buildkit_v1_sourcepolicy_AttrConstraint, _moby_buildkit_v1_sourcepolicy_AttrConstraint__Output>
          AttrMatch: EnumTypeDefinition
          MatchType: EnumTypeDefinition
          Policy: MessageTypeDefinition<_moby_buildkit_v1_sourcepolicy_Policy, _moby_buildkit_v1_sourcepolicy_Policy__Output>
          PolicyAction: EnumTypeDefinition
          Rule: MessageTypeDefinition<_moby_buildkit_v1_sourcepolicy_Rule, _moby_buildkit_v1_sourcepolicy_Rule__Output>
          Selector: MessageTypeDefinition<_moby_buildkit_v1_sourcepolicy_Selector, _moby_buildkit_v1_sourcepolicy_Selector__Output>
          Update: MessageTypeDefinition<_moby_buildkit_v1_sourcepolicy_Update, _moby_buildkit_v1_sourcepolicy_Update__Output>
        }
        types: {
          BuildkitVersion: MessageTypeDefinition<_moby_buildkit_v1_types_BuildkitVersion, _moby_buildkit_v1_types_BuildkitVersion__Output>
          CDIDevice: MessageTypeDefinition<_moby_buildkit_v1_types_CDIDevice, _moby_buildkit_v1_types_CDIDevice__Output>
          GCPolicy: MessageTypeDefinition<_moby_buildkit_v1_types_GCPolicy, _moby_buildkit_v1_types_GCPolicy__Output>
          WorkerRecord: MessageTypeDefinition<_moby_buildkit_v1_types_WorkerRecord, _moby_buildkit_v1_types_WorkerRecord__Output>
        }
      }
    }
  }
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

