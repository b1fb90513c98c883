import { after } from 'node:test';
import { join } from 'node:path';
import { HnswVectorIndex } from '../../src/adapters/hnswlib/vector-index.js';
import { vectorIndexConformance } from '../conformance/vector-index.suite.js';
import { tempDir } from '../helpers.js';

const { dir, cleanup } = tempDir();
after(cleanup);
let n = 0;
vectorIndexConformance('hnswlib vector index', (file) => HnswVectorIndex.open(3, file), () => join(dir, `ix-${n++}.hnsw`));
