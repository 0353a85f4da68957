import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../proto/codec.js';
import { kilnSchema, type ValueKind } from '../../proto/schema.js';

/** Field numbers from BuildKit's .proto files (v0.11; see buildkit-wire.md §1). */
const reference: Record<string, Record<string, number>> = {
  'moby.buildkit.v1.SolveRequest': {
    Ref: 1,
    Definition: 2,
    Exporter: 3,
    ExporterAttrs: 4,
    Session: 5,
    Frontend: 6,
    FrontendAttrs: 7,
    Cache: 8,
    Entitlements: 9,
    FrontendInputs: 10,
    Internal: 11,
    SourcePolicy: 12,
  },
  'moby.buildkit.v1.CacheOptions': { Exports: 4, Imports: 5 },
  'moby.buildkit.v1.StatusResponse': { vertexes: 1, statuses: 2, logs: 3, warnings: 4 },
  'moby.buildkit.v1.Vertex': {
    digest: 1,
    inputs: 2,
    name: 3,
    cached: 4,
    started: 5,
    completed: 6,
    error: 7,
    progressGroup: 8,
  },
  'moby.buildkit.v1.VertexStatus': {
    ID: 1,
    vertex: 2,
    name: 3,
    current: 4,
    total: 5,
    timestamp: 6,
    started: 7,
    completed: 8,
  },
  'moby.buildkit.v1.VertexLog': { vertex: 1, timestamp: 2, stream: 3, msg: 4 },
  'moby.buildkit.v1.BytesMessage': { data: 1 },
  'moby.buildkit.v1.types.WorkerRecord': { ID: 1, Labels: 2, platforms: 3, GCPolicy: 4, BuildkitVersion: 5 },
  'fsutil.types.Packet': { type: 1, stat: 2, ID: 3, data: 4 },
  'fsutil.types.Stat': {
    path: 1,
    mode: 2,
    uid: 3,
    gid: 4,
    size: 5,
    modTime: 6,
    linkname: 7,
    devmajor: 8,
    devminor: 9,
    xattrs: 10,
  },
  'pb.Definition': { def: 1, metadata: 2, Source: 3 },
  'pb.Op': {
    inputs: 1,
    exec: 2,
    source: 3,
    file: 4,
    build: 5,
    merge: 6,
    diff: 7,
    platform: 10,
    constraints: 11,
  },
  'pb.OpMetadata': { ignore_cache: 1, description: 2, export_cache: 4, caps: 5, progress_group: 6 },
  'pb.ExecOp': { meta: 1, mounts: 2, network: 3, security: 4, secretenv: 5 },
  'pb.Mount': {
    input: 1,
    selector: 2,
    dest: 3,
    output: 4,
    readonly: 5,
    mountType: 6,
    TmpfsOpt: 19,
    cacheOpt: 20,
    secretOpt: 21,
    SSHOpt: 22,
    resultID: 23,
  },
  'pb.FileAction': { input: 1, secondaryInput: 2, output: 3, copy: 4, mkfile: 5, mkdir: 6, rm: 7 },
  'pb.FileActionCopy': {
    src: 1,
    dest: 2,
    owner: 3,
    mode: 4,
    followSymlink: 5,
    dirCopyContents: 6,
    attemptUnpackDockerCompatibility: 7,
    createDestPath: 8,
    allowWildcard: 9,
    allowEmptyWildcard: 10,
    timestamp: 11,
    include_patterns: 12,
    exclude_patterns: 13,
  },
  'moby.buildkit.v1.frontend.Result': {
    refDeprecated: 1,
    refsDeprecated: 2,
    ref: 3,
    refs: 4,
    metadata: 10,
    attestations: 12,
  },
  'moby.buildkit.v1.frontend.Ref': { id: 1, def: 2 },
  'moby.buildkit.v1.frontend.ReturnRequest': { result: 1, error: 2 },
  'moby.buildkit.v1.frontend.SolveRequest': {
    Definition: 1,
    Frontend: 2,
    FrontendOpt: 3,
    allowResultReturn: 5,
    allowResultArrayRef: 6,
    Final: 10,
    ExporterAttr: 11,
    CacheImports: 12,
    FrontendInputs: 13,
    Evaluate: 14,
    SourcePolicies: 15,
  },
  'moby.buildkit.v1.frontend.SolveResponse': { ref: 1, result: 3 },
  'moby.buildkit.v1.frontend.PongResponse': { FrontendAPICaps: 1, LLBCaps: 2, Workers: 3 },
  'moby.buildkit.v1.apicaps.APICap': {
    ID: 1,
    Enabled: 2,
    Deprecated: 3,
    DisabledReason: 4,
    DisabledReasonMsg: 5,
    DisabledAlternative: 6,
  },
  'google.rpc.Status': { code: 1, message: 2, details: 3 },
};

function sample(kind: ValueKind): unknown {
  switch (kind.kind) {
    case 'message':
      return {};
    case 'enum':
      return 1;
    case 'scalar':
      switch (kind.scalar) {
        case 'string':
          return 'x';
        case 'bytes':
          return Buffer.from([7]);
        case 'bool':
          return true;
        default:
          return 1;
      }
  }
}

/** Top-level field numbers present in `bytes`, read with protobufjs' own reader. */
function topLevelFields(bytes: Uint8Array): number[] {
  const r = protobuf.Reader.create(bytes);
  const ids: number[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    ids.push(tag >>> 3);
    r.skipType(tag & 7);
  }
  return ids;
}

describe('wire field numbers match BuildKit', () => {
  for (const [typeName, fields] of Object.entries(reference)) {
    it(typeName, () => {
      const plan = kilnSchema().message(typeName);
      for (const [name, id] of Object.entries(fields)) {
        const field = plan.byName.get(name);
        expect(field, `${typeName}.${name}`).toBeDefined();
        if (field === undefined) continue;
        const one = sample(field.value);
        const value =
          field.mapKey !== undefined
            ? { [name]: { k: one } }
            : field.repeated
              ? { [name]: [one] }
              : { [name]: one };
        expect(topLevelFields(encodeMessage(typeName, value)), `${typeName}.${name}`).toEqual([id]);
      }
    });
  }

  it('encodes an fsutil DATA packet exactly as hand-computed', () => {
    // type=2 (08 02), ID=5 (18 05), data="hi" (22 02 68 69)
    const bytes = encodeMessage('fsutil.types.Packet', { type: 2, ID: 5, data: Buffer.from('hi') });
    expect(Buffer.from(bytes).toString('hex')).toBe('080218052202' + '6869');
    const stat = encodeMessage('fsutil.types.Packet', {
      type: 'PACKET_STAT',
      stat: { path: 'a', mode: 0x800001ed },
    });
    // stat=2 (12 09: 0a 01 'a' 10 <varint 0x800001ed = ed 83 80 80 08>)
    expect(Buffer.from(stat).toString('hex')).toBe('12090a016110ed83808008');
  });

  it('encodes a ReturnRequest with a ref result as hand-computed', () => {
    const bytes = encodeMessage('moby.buildkit.v1.frontend.ReturnRequest', {
      result: { ref: { id: 'r1' }, metadata: { 'containerimage.config': Buffer.from('{}') } },
    });
    const meta = `0a15${Buffer.from('containerimage.config').toString('hex')}1202${Buffer.from('{}').toString('hex')}`;
    const result = `1a040a02${Buffer.from('r1').toString('hex')}521b${meta}`;
    expect(Buffer.from(bytes).toString('hex')).toBe(`0a${(result.length / 2).toString(16)}${result}`);
  });

  it('agrees with protobufjs decoding of the same schema', () => {
    const root = kilnSchema().root;
    const value = {
      inputs: [{ digest: 'sha256:01', index: 2 }],
      file: {
        actions: [
          {
            input: -1,
            secondaryInput: 0,
            output: 0,
            copy: { src: '/a', dest: '/b', mode: -1, timestamp: -1, include_patterns: ['*.go'] },
          },
        ],
      },
      platform: { Architecture: 'arm64', OS: 'linux', OSFeatures: ['f'] },
    };
    const ours = encodeMessage('pb.Op', value);
    const Op = root.lookupType('pb.Op');
    const theirs = Op.toObject(Op.decode(ours), { longs: Number, oneofs: true, defaults: true });
    expect(theirs).toMatchObject(value);
    expect(theirs.op).toBe('file');
    // And the reverse: protobufjs-encoded bytes decode to the same object with our decoder.
    const back = decodeMessage<Record<string, unknown>>('pb.Op', Op.encode(Op.fromObject(value)).finish());
    expect(back).toMatchObject(value);
    expect(Buffer.from(encodeMessage('pb.Op', back)).toString('hex')).toBe(Buffer.from(ours).toString('hex'));
  });
});
