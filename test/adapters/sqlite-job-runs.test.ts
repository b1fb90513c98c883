import { SqliteJobRuns } from '../../src/adapters/sqlite/job-runs.js';
import { jobRunsConformance } from '../conformance/job-runs.suite.js';

jobRunsConformance('sqlite job runs', async () => new SqliteJobRuns({ dir: ':memory:' }));
