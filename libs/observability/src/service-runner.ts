// The imperative shell every service's main.ts shares: parse config once (exit 2 with one
// clear message when invalid), start, serve probes and metrics, stop on SIGTERM/SIGINT.
import { toGatewayError } from '@agentgate/errors';
import { createLogger, type Logger } from './logger.js';
import { startAdminServer } from './admin-server.js';

/** What a started service exposes to the runner. */
export interface RunningService {
  readiness(): Record<string, boolean>;
  metrics(): string;
  stop(): Promise<void>;
  /** Extra fields for the "started" log line (ports, versions). */
  describe?(): Record<string, unknown>;
  /** Operator actions on the admin port (POST /<name>), e.g. the checkpointer's `checkpoint`. */
  actions?: Record<string, () => Promise<unknown>>;
}

export interface ServiceDefinition<C extends { serviceName: string; adminPort: number; logLevel: string }> {
  name: string;
  loadConfig: () => Readonly<C>;
  start: (config: Readonly<C>, logger: Logger) => Promise<RunningService>;
}

/** Runs a service until a signal stops it. Never returns normally. */
export async function runService<C extends { serviceName: string; adminPort: number; logLevel: string }>(
  definition: ServiceDefinition<C>,
): Promise<void> {
  let config: Readonly<C>;
  try {
    config = definition.loadConfig();
  } catch (err) {
    process.stderr.write(`${definition.name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: config.serviceName, level: config.logLevel });
  try {
    const service = await definition.start(config, logger);
    const admin = await startAdminServer({
      port: config.adminPort,
      readiness: () => service.readiness(),
      metrics: () => service.metrics(),
      ...(service.actions === undefined ? {} : { actions: service.actions }),
      onActionError: (action, code) => logger.error({ action, code }, 'admin action failed'),
    });
    logger.info({ adminPort: admin.port, ...service.describe?.() }, `${definition.name} started`);
    let stopping = false;
    const shutdown = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      await service.stop().catch((err: unknown) => logger.error({ code: toGatewayError(err).code }, 'error while stopping'));
      await admin.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  } catch (err) {
    const e = toGatewayError(err);
    logger.fatal({ code: e.code, err: e.message }, `${definition.name} failed to start`);
    process.exit(1);
  }
}
