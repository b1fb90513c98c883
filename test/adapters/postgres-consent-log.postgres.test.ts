import { after, test } from 'node:test';
import { PostgresConsentLog } from '../../src/adapters/postgres/consent-log.js';
import { consentLogConformance } from '../conformance/consent-log.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();
if ('skip' in db) {
  test('postgres consent log', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  const schemaOf = new Map<PostgresConsentLog, string>();
  consentLogConformance(
    'postgres consent log',
    async () => {
      const schema = `consent_${n++}`;
      const log = await PostgresConsentLog.open({ url: db.url, schema });
      schemaOf.set(log, schema);
      return log;
    },
    async (first) => PostgresConsentLog.open({ url: db.url, schema: schemaOf.get(first as PostgresConsentLog)! }),
  );
}
