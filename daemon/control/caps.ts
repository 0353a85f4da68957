/** Capabilities advertised by LLBBridge.Ping: what a client's gateway may use against kilnd. */

const frontendCaps = [
  'solve.base',
  'solve.inlinereturn',
  'resolveimage',
  'resolveimage.resolvemode',
  'readfile',
  'return',
  'returnmap',
  'readdir',
  'statfile',
  'importcaches',
  'proto.refarray',
  'reference.output',
  'frontend.inputs',
  'gateway.solve.metadata',
  'frontend.caps',
  'gateway.solve.evaluate',
  'gateway.evaluate',
  'gateway.warnings',
] as const;

/** Only what the solver really runs: local sources, file and merge ops, metadata. */
const llbCaps = [
  'source.local',
  'source.local.unique',
  'source.local.sessionid',
  'source.local.includepatterns',
  'source.local.followpaths',
  'source.local.excludepatterns',
  'source.local.sharedkeyhint',
  'source.local.differ',
  'file.base',
  'file.rm.wildcard',
  'file.copy.includeexcludepatterns',
  'constraints',
  'platform',
  'meta.ignorecache',
  'meta.description',
  'meta.exportcache',
  'mergeop',
] as const;

export interface ApiCap {
  ID: string;
  Enabled: boolean;
}

export function pongCaps(): { FrontendAPICaps: ApiCap[]; LLBCaps: ApiCap[] } {
  return {
    FrontendAPICaps: frontendCaps.map((ID) => ({ ID, Enabled: true })),
    LLBCaps: llbCaps.map((ID) => ({ ID, Enabled: true })),
  };
}
