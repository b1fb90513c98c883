import { after, test } from 'node:test';
import { PostgresSubjectKeys } from '../../src/adapters/postgres/subject-keys.js';
import { subjectKeysConformance } from '../conformance/subject-keys.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();
if ('skip' in db) {
  test('postgres subject keys', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  const schemaOf = new Map<PostgresSubjectKeys, string>();
  subjectKeysConformance(
    'postgres subject keys',
    async () => {
      const schema = `keys_${n++}`;
      const keys = await PostgresSubjectKeys.open({ url: db.url, schema });
      schemaOf.set(keys, schema);
      return keys;
    },
    async (first) => PostgresSubjectKeys.open({ url: db.url, schema: schemaOf.get(first as PostgresSubjectKeys)! }),
  );
}
