import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { APICap as _moby_buildkit_v1_apicaps_APICap, APICap__Output as _moby_buildkit_v1_apicaps_APICap__Output } from './moby/buildkit/v1/apicaps/APICap.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  moby: {
    buildkit: {
      v1: {
        apicaps: {
          APICap: MessageTypeDefinition<_moby_buildkit_v1_apicaps_APICap, _moby_buildkit_v1_apicaps_APICap__Output>
        }
      }
    }
  }
}

