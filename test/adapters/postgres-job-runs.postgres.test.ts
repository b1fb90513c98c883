import { after, test } from 'node:test';
import { PostgresJobRuns } from '../../src/adapters/postgres/job-runs.js';
import { PostgresProfileStore } from '../../src/adapters/postgres/profile-store.js';
import { jobRunsConformance } from '../conformance/job-runs.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();
if ('skip' in db) {
  test('postgres job runs', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  const schemas = new Map<PostgresJobRuns, string>();
  jobRunsConformance(
    'postgres job runs',
    async () => {
      const schema = `jobs_${n++}`;
      // The table comes with the profile store's migrations.
      await (await PostgresProfileStore.open({ url: db.url, schema })).close();
      const runs = new PostgresJobRuns({ url: db.url, schema });
      schemas.set(runs, schema);
      return runs;
    },
    async (first) => new PostgresJobRuns({ url: db.url, schema: schemas.get(first as PostgresJobRuns)! }),
  );
}
