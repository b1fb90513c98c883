import { after } from 'node:test';
import { SqliteSubjectKeys } from '../../src/adapters/sqlite/subject-keys.js';
import { subjectKeysConformance } from '../conformance/subject-keys.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((d) => d()));
const dirOf = new Map<SqliteSubjectKeys, string>();
subjectKeysConformance(
  'sqlite subject keys',
  async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const keys = new SqliteSubjectKeys({ dir });
    dirOf.set(keys, dir);
    return keys;
  },
  async (first) => new SqliteSubjectKeys({ dir: dirOf.get(first as SqliteSubjectKeys)! }),
);
