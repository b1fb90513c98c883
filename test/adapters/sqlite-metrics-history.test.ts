import { SqliteMetricsHistory } from '../../src/adapters/sqlite/metrics-history.js';
import { metricsHistoryConformance } from '../conformance/metrics-history.suite.js';

metricsHistoryConformance('sqlite metrics history', async () => new SqliteMetricsHistory({ dir: ':memory:' }));
