import { MemoryProfileCache } from '../../src/adapters/memory/profile-cache.js';
import { profileCacheConformance } from '../conformance/profile-cache.suite.js';

profileCacheConformance('memory', async () => new MemoryProfileCache());
