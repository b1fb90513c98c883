import { after, test } from 'node:test';
import { PostgresExpectationRuns, PostgresQuarantine, PostgresSchemaRegistry } from '../../src/adapters/postgres/quality-store.js';
import { expectationRunsConformance, quarantineConformance, schemaRegistryConformance } from '../conformance/quality-store.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();
if ('skip' in db) {
  test('postgres schema registry and quarantine', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  const schemaOf = new Map<PostgresSchemaRegistry, string>();
  schemaRegistryConformance(
    'postgres schema registry',
    async () => {
      const schema = `plan_${n++}`;
      const r = await PostgresSchemaRegistry.open({ url: db.url, schema });
      schemaOf.set(r, schema);
      return r;
    },
    async (first) => PostgresSchemaRegistry.open({ url: db.url, schema: schemaOf.get(first as PostgresSchemaRegistry)! }),
  );
  quarantineConformance('postgres quarantine', async () => PostgresQuarantine.open({ url: db.url, schema: `quarantine_${n++}` }));
  expectationRunsConformance('postgres expectation runs', async () => PostgresExpectationRuns.open({ url: db.url, schema: `expectations_${n++}` }));
}
