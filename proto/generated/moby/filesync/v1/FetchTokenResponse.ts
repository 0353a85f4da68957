// Original file: proto/moby/filesync/v1/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface FetchTokenResponse {
  'Token'?: (string);
  'ExpiresIn'?: (number | string | Long);
  'IssuedAt'?: (number | string | Long);
}

export interface FetchTokenResponse__Output {
  'Token': (string);
  'ExpiresIn': (number);
  'IssuedAt': (number);
}
