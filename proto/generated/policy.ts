import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AttrConstraint as _moby_buildkit_v1_sourcepolicy_AttrConstraint, AttrConstraint__Output as _moby_buildkit_v1_sourcepolicy_AttrConstraint__Output } from './moby/buildkit/v1/sourcepolicy/AttrConstraint.js';
import type { Policy as _moby_buildkit_v1_sourcepolicy_Policy, Policy__Output as _moby_buildkit_v1_sourcepolicy_Policy__Output } from './moby/buildkit/v1/sourcepolicy/Policy.js';
import type { Rule as _moby_buildkit_v1_sourcepolicy_Rule, Rule__Output as _moby_buildkit_v1_sourcepolicy_Rule__Output } from './moby/buildkit/v1/sourcepolicy/Rule.js';
import type { Selector as _moby_buildkit_v1_sourcepolicy_Selector, Selector__Output as _moby_buildkit_v1_sourcepolicy_Selector__Output } from './moby/buildkit/v1/sourcepolicy/Selector.js';
import type { Update as _moby_buildkit_v1_sourcepolicy_Update, Update__Output as _moby_buildkit_v1_sourcepolicy_Update__Output } from './moby/buildkit/v1/sourcepolicy/Update.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  moby: {
    buildkit: {
      v1: {
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
      }
    }
  }
}

