import { after, test } from 'node:test';
import { PostgresItemStore } from '../../src/adapters/postgres/item-store.js';
import { itemStoreConformance } from '../conformance/item-store.suite.js';
import { postgresDatabase } from '../services.js';

const db = await postgresDatabase();
if ('skip' in db) {
  test('postgres item store', { skip: db.skip }, () => undefined);
} else {
  after(() => db.drop());
  let n = 0;
  const schemaOf = new Map<PostgresItemStore, string>();
  itemStoreConformance(
    'postgres item store',
    async () => {
      const schema = `items_${n++}`;
      const s = await PostgresItemStore.open({ url: db.url, schema });
      schemaOf.set(s, schema);
      return s;
    },
    async (first) => PostgresItemStore.open({ url: db.url, schema: schemaOf.get(first as PostgresItemStore)! }),
  );
}
