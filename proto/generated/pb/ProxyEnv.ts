// Original file: proto/pb/ops.proto


export interface ProxyEnv {
  'http_proxy'?: (string);
  'https_proxy'?: (string);
  'ftp_proxy'?: (string);
  'no_proxy'?: (string);
  'all_proxy'?: (string);
}

export interface ProxyEnv__Output {
  'http_proxy': (string);
  'https_proxy': (string);
  'ftp_proxy': (string);
  'no_proxy': (string);
  'all_proxy': (string);
}
