export { type CacheManagerOptions, openCacheManager } from './manager.js';
export type { CacheManager, CacheRecord, PruneOptions, SharedKeyIndex, UsageRecord } from './types.js';
export { parseUsageFilter, type UsagePredicate } from './usage-filter.js';
