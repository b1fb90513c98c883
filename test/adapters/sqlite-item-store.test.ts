import { after } from 'node:test';
import { SqliteItemStore } from '../../src/adapters/sqlite/item-store.js';
import { itemStoreConformance } from '../conformance/item-store.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((d) => d()));
const dirOf = new Map<SqliteItemStore, string>();
itemStoreConformance(
  'sqlite item store',
  async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const s = new SqliteItemStore({ dir });
    dirOf.set(s, dir);
    return s;
  },
  async (first) => new SqliteItemStore({ dir: dirOf.get(first as SqliteItemStore)! }),
);
