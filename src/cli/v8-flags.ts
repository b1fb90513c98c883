import { setFlagsFromString } from 'node:v8';

/**
 * Imported first by the CLI, before anything allocates. V8's allocation-site pretenuring, seeing
 * many objects of one site alive at a few scavenges (a decision's candidates while requests
 * queue), starts allocating that site's objects in the old generation, for good. It did so in
 * about half of the decision bench's runs, and those runs answered at half the rate (server p50
 * 0.5–0.7 ms instead of 0.27–0.3 ms). Without it every run is the fast one; the processor's
 * throughput did not change (npm run bench:processor).
 */
setFlagsFromString('--no-allocation-site-pretenuring');
