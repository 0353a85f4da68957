import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Stat as _fsutil_types_Stat, Stat__Output as _fsutil_types_Stat__Output } from './fsutil/types/Stat.js';
import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any.js';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from './google/rpc/Status.js';
import type { APICap as _moby_buildkit_v1_apicaps_APICap, APICap__Output as _moby_buildkit_v1_apicaps_APICap__Output } from './moby/buildkit/v1/apicaps/APICap.js';
import type { Attestation as _moby_buildkit_v1_frontend_Attestation, Attestation__Output as _moby_buildkit_v1_frontend_Attestation__Output } from './moby/buildkit/v1/frontend/Attestation.js';
import type { Attestations as _moby_buildkit_v1_frontend_Attestations, Attestations__Output as _moby_buildkit_v1_frontend_Attestations__Output } from './moby/buildkit/v1/frontend/Attestations.js';
import type { CacheOptionsEntry as _moby_buildkit_v1_frontend_CacheOptionsEntry, CacheOptionsEntry__Output as _moby_buildkit_v1_frontend_CacheOptionsEntry__Output } from './moby/buildkit/v1/frontend/CacheOptionsEntry.js';
import type { DoneMessage as _moby_buildkit_v1_frontend_DoneMessage, DoneMessage__Output as _moby_buildkit_v1_frontend_DoneMessage__Output } from './moby/buildkit/v1/frontend/DoneMessage.js';
import type { EvaluateRequest as _moby_buildkit_v1_frontend_EvaluateRequest, EvaluateRequest__Output as _moby_buildkit_v1_frontend_EvaluateRequest__Output } from './moby/buildkit/v1/frontend/EvaluateRequest.js';
import type { EvaluateResponse as _moby_buildkit_v1_frontend_EvaluateResponse, EvaluateResponse__Output as _moby_buildkit_v1_frontend_EvaluateResponse__Output } from './moby/buildkit/v1/frontend/EvaluateResponse.js';
import type { ExecMessage as _moby_buildkit_v1_frontend_ExecMessage, ExecMessage__Output as _moby_buildkit_v1_frontend_ExecMessage__Output } from './moby/buildkit/v1/frontend/ExecMessage.js';
import type { ExitMessage as _moby_buildkit_v1_frontend_ExitMessage, ExitMessage__Output as _moby_buildkit_v1_frontend_ExitMessage__Output } from './moby/buildkit/v1/frontend/ExitMessage.js';
import type { FdMessage as _moby_buildkit_v1_frontend_FdMessage, FdMessage__Output as _moby_buildkit_v1_frontend_FdMessage__Output } from './moby/buildkit/v1/frontend/FdMessage.js';
import type { FileRange as _moby_buildkit_v1_frontend_FileRange, FileRange__Output as _moby_buildkit_v1_frontend_FileRange__Output } from './moby/buildkit/v1/frontend/FileRange.js';
import type { InTotoSubject as _moby_buildkit_v1_frontend_InTotoSubject, InTotoSubject__Output as _moby_buildkit_v1_frontend_InTotoSubject__Output } from './moby/buildkit/v1/frontend/InTotoSubject.js';
import type { InitMessage as _moby_buildkit_v1_frontend_InitMessage, InitMessage__Output as _moby_buildkit_v1_frontend_InitMessage__Output } from './moby/buildkit/v1/frontend/InitMessage.js';
import type { InputsRequest as _moby_buildkit_v1_frontend_InputsRequest, InputsRequest__Output as _moby_buildkit_v1_frontend_InputsRequest__Output } from './moby/buildkit/v1/frontend/InputsRequest.js';
import type { InputsResponse as _moby_buildkit_v1_frontend_InputsResponse, InputsResponse__Output as _moby_buildkit_v1_frontend_InputsResponse__Output } from './moby/buildkit/v1/frontend/InputsResponse.js';
import type { LLBBridgeClient as _moby_buildkit_v1_frontend_LLBBridgeClient, LLBBridgeDefinition as _moby_buildkit_v1_frontend_LLBBridgeDefinition } from './moby/buildkit/v1/frontend/LLBBridge.js';
import type { NewContainerRequest as _moby_buildkit_v1_frontend_NewContainerRequest, NewContainerRequest__Output as _moby_buildkit_v1_frontend_NewContainerRequest__Output } from './moby/buildkit/v1/frontend/NewContainerRequest.js';
import type { NewContainerResponse as _moby_buildkit_v1_frontend_NewContainerResponse, NewContainerResponse__Output as _moby_buildkit_v1_frontend_NewContainerResponse__Output } from './moby/buildkit/v1/frontend/NewContainerResponse.js';
import type { PingRequest as _moby_buildkit_v1_frontend_PingRequest, PingRequest__Output as _moby_buildkit_v1_frontend_PingRequest__Output } from './moby/buildkit/v1/frontend/PingRequest.js';
import type { PongResponse as _moby_buildkit_v1_frontend_PongResponse, PongResponse__Output as _moby_buildkit_v1_frontend_PongResponse__Output } from './moby/buildkit/v1/frontend/PongResponse.js';
import type { ReadDirRequest as _moby_buildkit_v1_frontend_ReadDirRequest, ReadDirRequest__Output as _moby_buildkit_v1_frontend_ReadDirRequest__Output } from './moby/buildkit/v1/frontend/ReadDirRequest.js';
import type { ReadDirResponse as _moby_buildkit_v1_frontend_ReadDirResponse, ReadDirResponse__Output as _moby_buildkit_v1_frontend_ReadDirResponse__Output } from './moby/buildkit/v1/frontend/ReadDirResponse.js';
import type { ReadFileRequest as _moby_buildkit_v1_frontend_ReadFileRequest, ReadFileRequest__Output as _moby_buildkit_v1_frontend_ReadFileRequest__Output } from './moby/buildkit/v1/frontend/ReadFileRequest.js';
import type { ReadFileResponse as _moby_buildkit_v1_frontend_ReadFileResponse, ReadFileResponse__Output as _moby_buildkit_v1_frontend_ReadFileResponse__Output } from './moby/buildkit/v1/frontend/ReadFileResponse.js';
import type { Ref as _moby_buildkit_v1_frontend_Ref, Ref__Output as _moby_buildkit_v1_frontend_Ref__Output } from './moby/buildkit/v1/frontend/Ref.js';
import type { RefMap as _moby_buildkit_v1_frontend_RefMap, RefMap__Output as _moby_buildkit_v1_frontend_RefMap__Output } from './moby/buildkit/v1/frontend/RefMap.js';
import type { RefMapDeprecated as _moby_buildkit_v1_frontend_RefMapDeprecated, RefMapDeprecated__Output as _moby_buildkit_v1_frontend_RefMapDeprecated__Output } from './moby/buildkit/v1/frontend/RefMapDeprecated.js';
import type { ReleaseContainerRequest as _moby_buildkit_v1_frontend_ReleaseContainerRequest, ReleaseContainerRequest__Output as _moby_buildkit_v1_frontend_ReleaseContainerRequest__Output } from './moby/buildkit/v1/frontend/ReleaseContainerRequest.js';
import type { ReleaseContainerResponse as _moby_buildkit_v1_frontend_ReleaseContainerResponse, ReleaseContainerResponse__Output as _moby_buildkit_v1_frontend_ReleaseContainerResponse__Output } from './moby/buildkit/v1/frontend/ReleaseContainerResponse.js';
import type { ResizeMessage as _moby_buildkit_v1_frontend_ResizeMessage, ResizeMessage__Output as _moby_buildkit_v1_frontend_ResizeMessage__Output } from './moby/buildkit/v1/frontend/ResizeMessage.js';
import type { ResolveImageConfigRequest as _moby_buildkit_v1_frontend_ResolveImageConfigRequest, ResolveImageConfigRequest__Output as _moby_buildkit_v1_frontend_ResolveImageConfigRequest__Output } from './moby/buildkit/v1/frontend/ResolveImageConfigRequest.js';
import type { ResolveImageConfigResponse as _moby_buildkit_v1_frontend_ResolveImageConfigResponse, ResolveImageConfigResponse__Output as _moby_buildkit_v1_frontend_ResolveImageConfigResponse__Output } from './moby/buildkit/v1/frontend/ResolveImageConfigResponse.js';
import type { ResolveSourceImageResponse as _moby_buildkit_v1_frontend_ResolveSourceImageResponse, ResolveSourceImageResponse__Output as _moby_buildkit_v1_frontend_ResolveSourceImageResponse__Output } from './moby/buildkit/v1/frontend/ResolveSourceImageResponse.js';
import type { ResolveSourceMetaRequest as _moby_buildkit_v1_frontend_ResolveSourceMetaRequest, ResolveSourceMetaRequest__Output as _moby_buildkit_v1_frontend_ResolveSourceMetaRequest__Output } from './moby/buildkit/v1/frontend/ResolveSourceMetaRequest.js';
import type { ResolveSourceMetaResponse as _moby_buildkit_v1_frontend_ResolveSourceMetaResponse, ResolveSourceMetaResponse__Output as _moby_buildkit_v1_frontend_ResolveSourceMetaResponse__Output } from './moby/buildkit/v1/frontend/ResolveSourceMetaResponse.js';
import type { Result as _moby_buildkit_v1_frontend_Result, Result__Output as _moby_buildkit_v1_frontend_Result__Output } from './moby/buildkit/v1/frontend/Result.js';
import type { ReturnRequest as _moby_buildkit_v1_frontend_ReturnRequest, ReturnRequest__Output as _moby_buildkit_v1_frontend_ReturnRequest__Output } from './moby/buildkit/v1/frontend/ReturnRequest.js';
import type { ReturnResponse as _moby_buildkit_v1_frontend_ReturnResponse, ReturnResponse__Output as _moby_buildkit_v1_frontend_ReturnResponse__Output } from './moby/buildkit/v1/frontend/ReturnResponse.js';
import type { SignalMessage as _moby_buildkit_v1_frontend_SignalMessage, SignalMessage__Output as _moby_buildkit_v1_frontend_SignalMessage__Output } from './moby/buildkit/v1/frontend/SignalMessage.js';
import type { SolveRequest as _moby_buildkit_v1_frontend_SolveRequest, SolveRequest__Output as _moby_buildkit_v1_frontend_SolveRequest__Output } from './moby/buildkit/v1/frontend/SolveRequest.js';
import type { SolveResponse as _moby_buildkit_v1_frontend_SolveResponse, SolveResponse__Output as _moby_buildkit_v1_frontend_SolveResponse__Output } from './moby/buildkit/v1/frontend/SolveResponse.js';
import type { StartedMessage as _moby_buildkit_v1_frontend_StartedMessage, StartedMessage__Output as _moby_buildkit_v1_frontend_StartedMessage__Output } from './moby/buildkit/v1/frontend/StartedMessage.js';
import type { StatFileRequest as _moby_buildkit_v1_frontend_StatFileRequest, StatFileRequest__Output as _moby_buildkit_v1_frontend_StatFileRequest__Output } from './moby/buildkit/v1/frontend/StatFileRequest.js';
import type { StatFileResponse as _moby_buildkit_v1_frontend_StatFileResponse, StatFileResponse__Output as _moby_buildkit_v1_frontend_StatFileResponse__Output } from './moby/buildkit/v1/frontend/StatFileResponse.js';
import type { WarnRequest as _moby_buildkit_v1_frontend_WarnRequest, WarnRequest__Output as _moby_buildkit_v1_frontend_WarnRequest__Output } from './moby/buildkit/v1/frontend/WarnRequest.js';
import type { WarnResponse as _moby_buildkit_v1_frontend_WarnResponse, WarnResponse__Output as _moby_buildkit_v1_frontend_WarnResponse__Output } from './moby/buildkit/v1/frontend/WarnResponse.js';
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
  fsutil: {
    types: {
      Stat: MessageTypeDefinition<_fsutil_types_Stat, _fsutil_types_Stat__Output>
    }
  }
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any, _google_protobuf_Any__Output>
    }
    rpc: {
      Status: MessageTypeDefinition<_google_rpc_Status, _google_rpc_Status__Output>
    }
  }
  moby: {
    buildkit: {
      v1: {
        apicaps: {
          APICap: MessageTypeDefinition<_moby_buildkit_v1_apicaps_APICap, _moby_buildkit_v1_apicaps_APICap__Output>
        }
        frontend: {
          Attestation: MessageTypeDefinition<_moby_buildkit_v1_frontend_Attestation, _moby_buildkit_v1_frontend_Attestation__Output>
          AttestationKind: EnumTypeDefinition
          Attestations: MessageTypeDefinition<_moby_buildkit_v1_frontend_Attestations, _moby_buildkit_v1_frontend_Attestations__Output>
          CacheOptionsEntry: MessageTypeDefinition<_moby_buildkit_v1_frontend_CacheOptionsEntry, _moby_buildkit_v1_frontend_CacheOptionsEntry__Output>
          DoneMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_DoneMessage, _moby_buildkit_v1_frontend_DoneMessage__Output>
          EvaluateRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_EvaluateRequest, _moby_buildkit_v1_frontend_EvaluateRequest__Output>
          EvaluateResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_EvaluateResponse, _moby_buildkit_v1_frontend_EvaluateResponse__Output>
          ExecMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_ExecMessage, _moby_buildkit_v1_frontend_ExecMessage__Output>
          ExitMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_ExitMessage, _moby_buildkit_v1_frontend_ExitMessage__Output>
          FdMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_FdMessage, _moby_buildkit_v1_frontend_FdMessage__Output>
          FileRange: MessageTypeDefinition<_moby_buildkit_v1_frontend_FileRange, _moby_buildkit_v1_frontend_FileRange__Output>
          InTotoSubject: MessageTypeDefinition<_moby_buildkit_v1_frontend_InTotoSubject, _moby_buildkit_v1_frontend_InTotoSubject__Output>
          InTotoSubjectKind: EnumTypeDefinition
          InitMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_InitMessage, _moby_buildkit_v1_frontend_InitMessage__Output>
          InputsRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_InputsRequest, _moby_buildkit_v1_frontend_InputsRequest__Output>
          InputsResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_InputsResponse, _moby_buildkit_v1_frontend_InputsResponse__Output>
          LLBBridge: SubtypeConstructor<typeof grpc.Client, _moby_buildkit_v1_frontend_LLBBridgeClient> & { service: _moby_buildkit_v1_frontend_LLBBridgeDefinition }
          NewContainerRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_NewContainerRequest, _moby_buildkit_v1_frontend_NewContainerRequest__Output>
          NewContainerResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_NewContainerResponse, _moby_buildkit_v1_frontend_NewContainerResponse__Output>
          PingRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_PingRequest, _moby_buildkit_v1_frontend_PingRequest__Output>
          PongResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_PongResponse, _moby_buildkit_v1_frontend_PongResponse__Output>
          ReadDirRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReadDirRequest, _moby_buildkit_v1_frontend_ReadDirRequest__Output>
          ReadDirResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReadDirResponse, _moby_buildkit_v1_frontend_ReadDirResponse__Output>
          ReadFileRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReadFileRequest, _moby_buildkit_v1_frontend_ReadFileRequest__Output>
          ReadFileResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReadFileResponse, _moby_buildkit_v1_frontend_ReadFileResponse__Output>
          Ref: MessageTypeDefinition<_moby_buildkit_v1_frontend_Ref, _moby_buildkit_v1_frontend_Ref__Output>
          RefMap: MessageTypeDefinition<_moby_buildkit_v1_frontend_RefMap, _moby_buildkit_v1_frontend_RefMap__Output>
          RefMapDeprecated: MessageTypeDefinition<_moby_buildkit_v1_frontend_RefMapDeprecated, _moby_buildkit_v1_frontend_RefMapDeprecated__Output>
          ReleaseContainerRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReleaseContainerRequest, _moby_buildkit_v1_frontend_ReleaseContainerRequest__Output>
          ReleaseContainerResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReleaseContainerResponse, _moby_buildkit_v1_frontend_ReleaseContainerResponse__Output>
          ResizeMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResizeMessage, _moby_buildkit_v1_frontend_ResizeMessage__Output>
          ResolveImageConfigRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResolveImageConfigRequest, _moby_buildkit_v1_frontend_ResolveImageConfigRequest__Output>
          ResolveImageConfigResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResolveImageConfigResponse, _moby_buildkit_v1_frontend_ResolveImageConfigResponse__Output>
          ResolveSourceImageResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResolveSourceImageResponse, _moby_buildkit_v1_frontend_ResolveSourceImageResponse__Output>
          ResolveSourceMetaRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResolveSourceMetaRequest, _moby_buildkit_v1_frontend_ResolveSourceMetaRequest__Output>
          ResolveSourceMetaResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ResolveSourceMetaResponse, _moby_buildkit_v1_frontend_ResolveSourceMetaResponse__Output>
          Result: MessageTypeDefinition<_moby_buildkit_v1_frontend_Result, _moby_buildkit_v1_frontend_Result__Output>
          ReturnRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReturnRequest, _moby_buildkit_v1_frontend_ReturnRequest__Output>
          ReturnResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_ReturnResponse, _moby_buildkit_v1_frontend_ReturnResponse__Output>
          SignalMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_SignalMessage, _moby_buildkit_v1_frontend_SignalMessage__Output>
          SolveRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_SolveRequest, _moby_buildkit_v1_frontend_SolveRequest__Output>
          SolveResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_SolveResponse, _moby_buildkit_v1_frontend_SolveResponse__Output>
          StartedMessage: MessageTypeDefinition<_moby_buildkit_v1_frontend_StartedMessage, _moby_buildkit_v1_frontend_StartedMessage__Output>
          StatFileRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_StatFileRequest, _moby_buildkit_v1_frontend_StatFileRequest__Output>
          StatFileResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_StatFileResponse, _moby_buildkit_v1_frontend_StatFileResponse__Output>
          WarnRequest: MessageTypeDefinition<_moby_buildkit_v1_frontend_WarnRequest, _moby_buildkit_v1_frontend_WarnRequest__Output>
          WarnResponse: MessageTypeDefinition<_moby_buildkit_v1_frontend_WarnResponse, _moby_buildkit_v1_frontend_WarnResponse__Output>
        }
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

