import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Frame as _stack_Frame, Frame__Output as _stack_Frame__Output } from './stack/Frame.js';
import type { Stack as _stack_Stack, Stack__Output as _stack_Stack__Output } from './stack/Stack.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  stack: {
    Frame: MessageTypeDefinition<_stack_Frame, _stack_Frame__Output>
    Stack: MessageTypeDefinition<_stack_Stack, _stack_Stack__Output>
  }
}

