import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../daemon/config/config.js';
import { parseListenAddress } from '../../daemon/listen.js';

describe('kilnd.toml (buildkitd.toml keys)', () => {
  test('reads root, grpc addresses and TLS, worker and registry settings', () => {
    const warnings: string[] = [];
    const cfg = parseConfig(
      `
root = "/srv/kiln"
debug = true
insecure-entitlements = ["network.host"]
[grpc]
address = ["unix:///tmp/k.sock", "tcp://127.0.0.1:9999"]
[grpc.tls]
cert = "/c.pem"
key = "/k.pem"
ca = "/ca.pem"
[worker.oci]
max-parallelism = 3
snapshotter = "native"
gc = true
[registry."127.0.0.1:5000"]
http = true
mirrors = ["mirror.local:5000"]
[registry."docker.io"]
insecure = true
`,
      'kilnd.toml',
      (w) => warnings.push(w),
    );
    expect(warnings).toEqual([]);
    expect(cfg.root).toBe('/srv/kiln');
    expect(cfg.debug).toBe(true);
    expect(cfg.addresses).toEqual(['unix:///tmp/k.sock', 'tcp://127.0.0.1:9999']);
    expect(cfg.tls).toEqual({ cert: '/c.pem', key: '/k.pem', ca: '/ca.pem' });
    expect(cfg.maxParallelism).toBe(3);
    expect(cfg.snapshotter).toBe('native');
    expect(cfg.insecureEntitlements).toEqual(['network.host']);
    expect(cfg.registries?.get('127.0.0.1:5000')).toEqual({
      http: true,
      insecure: false,
      mirrors: ['mirror.local:5000'],
    });
    expect(cfg.registries?.get('docker.io')).toEqual({ http: false, insecure: true, mirrors: [] });
  });

  test('unknown keys warn and are ignored', () => {
    const warnings: string[] = [];
    const cfg = parseConfig(
      'root = "/x"\nfancy = 1\n[grpc]\nsecret = 2\n[worker.oci]\nbogus = true\n[history]\nmaxAge = 5\n',
      'k.toml',
      (w) => warnings.push(w),
    );
    expect(cfg.root).toBe('/x');
    expect(warnings).toEqual([
      'k.toml: unknown key "fancy" ignored',
      'k.toml: unknown key "history" ignored',
      'k.toml: unknown key "grpc.secret" ignored',
      'k.toml: unknown key "worker.oci.bogus" ignored',
    ]);
  });

  test('bad TOML and bad values are clear errors naming the file', () => {
    expect(() => parseConfig('root = \n', 'bad.toml', () => {})).toThrow(/bad\.toml: invalid TOML at line 1/);
    expect(() => parseConfig('root = 5\n', 'bad.toml', () => {})).toThrow(/bad\.toml: root must be a string/);
    expect(() => parseConfig('[worker.oci]\nsnapshotter = "zfs"\n', 'bad.toml', () => {})).toThrow(
      /snapshotter must be auto, native or overlayfs/,
    );
  });
});

describe('--addr', () => {
  test('unix and tcp addresses', () => {
    expect(parseListenAddress('unix:///run/kiln/kilnd.sock')).toEqual({
      kind: 'unix',
      path: '/run/kiln/kilnd.sock',
    });
    expect(parseListenAddress('tcp://0.0.0.0:1234')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 1234 });
    expect(parseListenAddress('tcp://[::1]:1234')).toEqual({ kind: 'tcp', host: '::1', port: 1234 });
  });
  test('bad addresses are clear errors', () => {
    expect(() => parseListenAddress('unix://relative.sock')).toThrow(/must be absolute/);
    expect(() => parseListenAddress('tcp://127.0.0.1')).toThrow(/a port is required/);
    expect(() => parseListenAddress('npipe:////./pipe/x')).toThrow(/unsupported scheme/);
  });
});
