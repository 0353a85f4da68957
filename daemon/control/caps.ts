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

/** Only what the solver really runs: local/image/http/git sources, exec, file and merge ops. */
const llbCaps = [
  'source.image',
  'source.image.resolvemode',
  'source.local',
  'source.local.unique',
  'source.local.sessionid',
  'source.local.includepatterns',
  'source.local.followpaths',
  'source.local.excludepatterns',
  'source.local.sharedkeyhint',
  'source.local.differ',
  'source.git',
  'source.git.keepgitdir',
  'source.git.fullurl',
  'source.git.subdir',
  'source.http',
  'source.http.checksum',
  'source.http.perm',
  'soruce.http.uidgid',
  'exec.meta.base',
  'exec.meta.network',
  'exec.meta.proxyenv',
  'exec.meta.security',
  'exec.meta.setsdefaultpath',
  'exec.meta.removemountstubs.recursive',
  'exec.mount.bind',
  'exec.mount.bind.readwrite-nooutput',
  'exec.mount.cache',
  'exec.mount.cache.sharing',
  'exec.mount.selector',
  'exec.mount.tmpfs',
  'exec.mount.tmpfs.size',
  'exec.mount.secret',
  'exec.mount.ssh',
  'exec.secretenv',
  'file.base',
  'file.rm.wildcard',
  'file.copy.includeexcludepatterns',
  'constraints',
  'platform',
  'meta.ignorecache',
  'meta.description',
  'meta.exportcache',
  'mergeop',
  'exporter.image.annotations',
  'exporter.sourcedateepoch',
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
