import { after } from 'node:test';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteVault } from '../../src/adapters/sqlite/vault.js';
import { vaultConformance } from '../conformance/vault.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((d) => d()));
vaultConformance(
  'sqlite vault',
  async (cipher, where?: string) => {
    let dir = where;
    if (!dir) {
      const t = tempDir();
      dirs.push(t.cleanup);
      dir = t.dir;
    }
    return { vault: new SqliteVault({ dir }, cipher), where: dir };
  },
  (dir) => Buffer.concat(['vault.db', 'vault.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f))),
);
