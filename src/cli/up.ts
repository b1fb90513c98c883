import { ALL_ROLES, createMosaic, type Roles } from '../app.js';
import { backends } from '../adapters/from-config.js';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';

/** `mosaic up` (every role), or one role per process: `mosaic collect`, `mosaic process`, `mosaic serve`. */
export async function runUp(config: Config, roles: Roles = ALL_ROLES): Promise<void> {
  const engines = backends(config);
  if (!(roles.collect && roles.process && roles.serve) && (engines.log === 'sqlite' || engines.store === 'sqlite')) {
    throw new MosaicError('MOSAIC_CONFIG_INVALID', {
      message: 'mosaic collect, process and serve run beside each other in separate processes, which needs a shared log and profile store: set MOSAIC_LOG=nats://… and MOSAIC_STORE=postgres://… (see docs/deployment.md), or run everything in one process with mosaic up.',
    });
  }
  if (!(roles.collect && roles.process && roles.serve)) {
    // Each process keeps its own control store: a key made up at first start would differ per process.
    const missing = [roles.collect && !config.writeKey ? 'MOSAIC_WRITE_KEY (the write key SDKs send)' : '', roles.serve && !config.apiToken ? 'MOSAIC_API_TOKEN (the admin token)' : ''].filter(Boolean);
    if (missing.length) {
      throw new MosaicError('MOSAIC_CONFIG_INVALID', {
        message: `mosaic ${Object.entries(roles).filter(([, on]) => on).map(([r]) => r).join(' + ')} needs ${missing.join(' and ')} set, the same in every process (see docs/deployment.md).`,
      });
    }
  }
  // Signals are taken from the start: one that arrives while the stores open (the processor
  // may already be applying batches) stops Mosaic gracefully once it is up.
  let stop: ((signal: string) => Promise<void>) | undefined = undefined;
  let early: string | undefined;
  const onSignal = (signal: string) => (stop ? void stop(signal) : (early ??= signal));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const mosaic = await createMosaic(config, { roles });
  const { logger } = mosaic;
  const address = await mosaic.app.listen({ port: config.port, host: config.host });
  const base = `http://localhost:${(mosaic.app.server.address() as { port: number }).port}`;
  const running = Object.entries(roles).filter(([, on]) => on).map(([r]) => r);
  logger.info({ address, roles: running, engines, dataDir: config.dataDir, partitions: mosaic.log.partitions }, running.length === 3 ? 'mosaic up' : `mosaic ${running.join(' + ')}`);

  if (mosaic.created.writeKey || mosaic.created.apiToken) {
    const lines = [
      '',
      '  Mosaic is running for the first time with its data in ' + config.dataDir,
      mosaic.created.writeKey ? `  Write key (public, for SDKs):  ${mosaic.created.writeKey}` : '',
      mosaic.created.apiToken ? `  Admin API token (secret; shown only now, store it):  ${mosaic.created.apiToken}` : '',
      '',
      '  Send an event:',
      `    curl -u '${mosaic.writeKey}:' ${base}/v1/identify -H 'content-type: application/json' \\`,
      `      -d '{"userId":"42","traits":{"email":"ada@example.com","plan":"pro"}}'`,
      mosaic.created.apiToken ? '  Read the profile:' : '',
      mosaic.created.apiToken ? `    curl -H 'authorization: Bearer ${mosaic.created.apiToken}' ${base}/v1/profiles/user_id:42` : '',
      '',
    ].filter((l, i, a) => l !== '' || a[i - 1] !== '');
    process.stdout.write(lines.join('\n') + '\n');
  }

  let stopping = false;
  stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: finishing in-flight requests and the current batch');
    try {
      await mosaic.close();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  if (early) await stop(early);
}
