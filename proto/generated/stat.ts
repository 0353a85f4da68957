import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Stat as _fsutil_types_Stat, Stat__Output as _fsutil_types_Stat__Output } from './fsutil/types/Stat.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  fsutil: {
    types: {
      Stat: MessageTypeDefinition<_fsutil_types_Stat, _fsutil_types_Stat__Output>
    }
  }
}

