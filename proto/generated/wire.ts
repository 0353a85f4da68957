import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Packet as _fsutil_types_Packet, Packet__Output as _fsutil_types_Packet__Output } from './fsutil/types/Packet.js';
import type { Stat as _fsutil_types_Stat, Stat__Output as _fsutil_types_Stat__Output } from './fsutil/types/Stat.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  fsutil: {
    types: {
      Packet: MessageTypeDefinition<_fsutil_types_Packet, _fsutil_types_Packet__Output>
      Stat: MessageTypeDefinition<_fsutil_types_Stat, _fsutil_types_Stat__Output>
    }
  }
}

