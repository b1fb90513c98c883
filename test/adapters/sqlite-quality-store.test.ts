import { after } from 'node:test';
import { SqliteExpectationRuns, SqliteQuarantine, SqliteSchemaRegistry } from '../../src/adapters/sqlite/quality-store.js';
import { expectationRunsConformance, quarantineConformance, schemaRegistryConformance } from '../conformance/quality-store.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((d) => d()));
const dirOf = new Map<SqliteSchemaRegistry, string>();
schemaRegistryConformance(
  'sqlite schema registry',
  async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const r = new SqliteSchemaRegistry({ dir });
    dirOf.set(r, dir);
    return r;
  },
  async (first) => new SqliteSchemaRegistry({ dir: dirOf.get(first as SqliteSchemaRegistry)! }),
);
quarantineConformance('sqlite quarantine', async () => new SqliteQuarantine({ dir: ':memory:' }));
expectationRunsConformance('sqlite expectation runs', async () => new SqliteExpectationRuns({ dir: ':memory:' }));
