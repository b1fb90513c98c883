import { after } from 'node:test';
import { SqliteProfileStore } from '../../src/adapters/sqlite/profile-store.js';
import { profileStoreConformance } from '../conformance/profile-store.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));

profileStoreConformance('sqlite', async () => {
  const { dir, cleanup } = tempDir();
  dirs.push(cleanup);
  return new SqliteProfileStore({ dir, sync: 'normal' });
});
