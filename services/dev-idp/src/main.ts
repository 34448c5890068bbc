import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { createDevIdp } from './app.js';

await runService({
  name: 'dev-idp',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const idp = createDevIdp({ config, logger });
    await idp.start();
    return idp;
  },
});
