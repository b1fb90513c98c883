import { after } from 'node:test';
import { SqliteConsentLog } from '../../src/adapters/sqlite/consent-log.js';
import { consentLogConformance } from '../conformance/consent-log.suite.js';
import { tempDir } from '../helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((d) => d()));
const dirOf = new Map<SqliteConsentLog, string>();
consentLogConformance(
  'sqlite consent log',
  async () => {
    const { dir, cleanup } = tempDir();
    dirs.push(cleanup);
    const log = new SqliteConsentLog({ dir });
    dirOf.set(log, dir);
    return log;
  },
  async (first) => new SqliteConsentLog({ dir: dirOf.get(first as SqliteConsentLog)! }),
);
