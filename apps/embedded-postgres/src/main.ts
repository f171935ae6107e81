import { loadConfig } from '@ensemble/config';
import { EnsembleError } from '@ensemble/protocol';
import { onShutdownSignal } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { startEmbeddedPostgres } from '@ensemble/vectors/embedded';

import { EmbeddedPostgresConfig } from './config.js';

const config = loadConfig(EmbeddedPostgresConfig, process.env);
const logger = createLogger({ service: 'embedded-postgres', level: config.LOG_LEVEL });

try {
  const database = await startEmbeddedPostgres({
    dataDir: config.EMBEDDED_PG_DATA_DIR === 'memory' ? undefined : config.EMBEDDED_PG_DATA_DIR,
    host: config.EMBEDDED_PG_HOST,
    port: config.EMBEDDED_PG_PORT,
    maxConnections: config.EMBEDDED_PG_MAX_CONNECTIONS,
  });
  // The same `listening` line as every HTTP service: the launcher and tests wait for it and read the URL.
  logger.info({ url: database.url, port: database.port, data_dir: database.dataDir ?? 'memory', service: 'embedded-postgres' }, 'listening');
  onShutdownSignal(logger, () => database.close());
} catch (error) {
  logger.fatal({ err: error, code: EnsembleError.is(error) ? error.code : undefined }, EnsembleError.is(error) ? error.message : 'embedded Postgres failed to start');
  process.exit(1);
}
